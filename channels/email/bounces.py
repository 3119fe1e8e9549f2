"""Bounces and complaints: provider webhooks (Amazon SES via SNS, Mailgun), bounce
messages (RFC 3464 DSNs) read from a mailbox, and mailto unsubscribe requests.

Every source ends in `apply_feedback`: hard bounces and complaints go on the
suppression list, and a bounce/complaint event is recorded for the publication when the
original Message-ID is one of ours. Signatures are verified before anything is trusted.
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from django.core.cache import cache
from django.utils import timezone

from analytics.events import record_events
from campaigns.audiences import services as audience_services
from campaigns.audiences.models import Suppression
from channels.http import fetch_bytes

from .models import Delivery


class FeedbackError(ValueError):
    """A webhook or message we refuse: bad signature, stale, malformed."""


@dataclass
class Feedback:
    kind: str  # "bounce" (hard) | "soft_bounce" | "complaint"
    email: str
    detail: str = ""
    message_id: str = ""


_OUR_MESSAGE_ID = re.compile(r"<?[0-9a-f]{32}\.(\d+)@[^>]+>?")


def apply_feedback(items: list[Feedback]) -> int:
    """Suppress hard bounces and complaints; record events. Idempotent. Returns how
    many addresses were newly suppressed."""
    suppressed = 0
    events = []
    now = timezone.now()
    for item in items:
        if not item.email or "@" not in item.email:
            continue
        if item.kind in ("bounce", "complaint"):
            reason = (
                Suppression.Reason.HARD_BOUNCE
                if item.kind == "bounce"
                else Suppression.Reason.COMPLAINT
            )
            existed = audience_services.is_suppressed(item.email)
            audience_services.suppress_address(item.email, reason, item.detail)
            suppressed += 0 if existed else 1
        match = _OUR_MESSAGE_ID.fullmatch(item.message_id.strip()) if item.message_id else None
        delivery = (
            Delivery.objects.filter(pk=int(match.group(1))).first() if match else None
        ) or Delivery.objects.filter(email__iexact=item.email).order_by("-sent_at").first()
        if delivery is not None:
            events.append(
                {
                    "kind": "complaint" if item.kind == "complaint" else "bounce",
                    "publication_id": delivery.publication_id,
                    "occurred_at": now,
                    "recipient_key": audience_services.recipient_key(delivery.subscriber_id),
                }
            )
    if events:
        record_events(events)
    return suppressed


# --- Amazon SES through SNS --------------------------------------------------------------
_SNS_HOST = re.compile(r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")
_SNS_FIELDS = {
    "Notification": ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"],
    "SubscriptionConfirmation": [
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ],
}
_SNS_FIELDS["UnsubscribeConfirmation"] = _SNS_FIELDS["SubscriptionConfirmation"]


def _fetch_certificate(url: str) -> bytes:
    return fetch_bytes(url, max_bytes=64 * 1024)


def verify_sns_message(payload: dict, fetch=_fetch_certificate) -> None:
    """Check an SNS message's signature against Amazon's certificate (only fetched from
    an sns.<region>.amazonaws.com https URL). Raises FeedbackError."""
    msg_type = payload.get("Type")
    if msg_type not in _SNS_FIELDS:
        raise FeedbackError(f"unknown SNS message type {msg_type!r}")
    cert_url = payload.get("SigningCertURL", "")
    parts = urlsplit(cert_url)
    if parts.scheme != "https" or not _SNS_HOST.match(parts.hostname or ""):
        raise FeedbackError("SigningCertURL is not an Amazon SNS https URL")
    version = str(payload.get("SignatureVersion", ""))
    algorithm = {"1": hashes.SHA1(), "2": hashes.SHA256()}.get(version)  # noqa: S303
    if algorithm is None:
        raise FeedbackError("unsupported SNS SignatureVersion")
    lines = []
    for key in _SNS_FIELDS[msg_type]:
        if key in payload and payload[key] is not None:
            lines += [key, str(payload[key])]
    string_to_sign = ("\n".join(lines) + "\n").encode()
    cache_key = "email:sns-cert:" + hashlib.sha256(cert_url.encode()).hexdigest()
    pem = cache.get(cache_key)
    if pem is None:
        pem = fetch(cert_url)
        cache.set(cache_key, pem, 3600)
    try:
        cert = x509.load_pem_x509_certificate(pem)
        signature = base64.b64decode(payload.get("Signature", ""), validate=True)
        cert.public_key().verify(signature, string_to_sign, padding.PKCS1v15(), algorithm)
    except (InvalidSignature, ValueError, TypeError) as exc:
        raise FeedbackError("SNS signature does not verify") from exc


def parse_ses_notification(message: dict) -> list[Feedback]:
    kind = message.get("notificationType") or message.get("eventType")
    message_id = ""
    for header in (message.get("mail") or {}).get("headers") or []:
        if str(header.get("name", "")).lower() == "message-id":
            message_id = str(header.get("value", ""))
    message_id = message_id or (message.get("mail") or {}).get("commonHeaders", {}).get(
        "messageId", ""
    )
    items = []
    if kind == "Bounce":
        bounce = message.get("bounce") or {}
        hard = bounce.get("bounceType") == "Permanent"
        for r in bounce.get("bouncedRecipients") or []:
            items.append(
                Feedback(
                    "bounce" if hard else "soft_bounce",
                    str(r.get("emailAddress", "")),
                    f"SES {bounce.get('bounceType')}/{bounce.get('bounceSubType')}: "
                    f"{r.get('diagnosticCode', '')}",
                    message_id,
                )
            )
    elif kind == "Complaint":
        complaint = message.get("complaint") or {}
        for r in complaint.get("complainedRecipients") or []:
            items.append(
                Feedback(
                    "complaint",
                    str(r.get("emailAddress", "")),
                    f"SES complaint: {complaint.get('complaintFeedbackType', '')}",
                    message_id,
                )
            )
    return items


def handle_sns_payload(body: bytes, *, topic_arn: str = "", fetch=_fetch_certificate) -> int:
    """Verify and apply one SNS POST. Confirms subscriptions. Returns suppressions."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FeedbackError("body is not JSON") from exc
    if not isinstance(payload, dict):
        raise FeedbackError("body is not a JSON object")
    verify_sns_message(payload, fetch=fetch)
    if topic_arn and payload.get("TopicArn") != topic_arn:
        raise FeedbackError("unexpected TopicArn")
    if payload["Type"] == "SubscriptionConfirmation":
        url = payload.get("SubscribeURL", "")
        if not _SNS_HOST.match(urlsplit(url).hostname or ""):
            raise FeedbackError("SubscribeURL is not an Amazon SNS URL")
        fetch(url)
        return 0
    if payload["Type"] != "Notification":
        return 0
    try:
        message = json.loads(payload.get("Message") or "{}")
    except ValueError as exc:
        raise FeedbackError("SNS Message is not JSON") from exc
    return apply_feedback(parse_ses_notification(message))


# --- Mailgun -----------------------------------------------------------------------------
MAILGUN_MAX_AGE = 15 * 60


def verify_mailgun(signature: dict, signing_key: str, now: float | None = None) -> None:
    """HMAC-SHA256 of timestamp+token with the webhook signing key; fresh; not replayed."""
    if not signing_key:
        raise FeedbackError("no Mailgun signing key configured")
    try:
        timestamp, token, sig = (
            str(signature["timestamp"]),
            str(signature["token"]),
            str(signature["signature"]),
        )
    except (KeyError, TypeError) as exc:
        raise FeedbackError("signature block missing") from exc
    expected = hmac.new(signing_key.encode(), (timestamp + token).encode(), hashlib.sha256)
    if not hmac.compare_digest(expected.hexdigest(), sig):
        raise FeedbackError("Mailgun signature does not verify")
    now = now if now is not None else time.time()
    if not timestamp.isdigit() or abs(now - int(timestamp)) > MAILGUN_MAX_AGE:
        raise FeedbackError("Mailgun webhook too old")
    if not cache.add(f"email:mailgun-token:{token}", 1, MAILGUN_MAX_AGE * 2):
        raise FeedbackError("Mailgun webhook replayed")


def handle_mailgun_payload(body: bytes, signing_key: str) -> int:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FeedbackError("body is not JSON") from exc
    if not isinstance(payload, dict):
        raise FeedbackError("body is not a JSON object")
    verify_mailgun(payload.get("signature") or {}, signing_key)
    data = payload.get("event-data") or {}
    event = data.get("event")
    recipient = str(data.get("recipient", ""))
    message_id = str(((data.get("message") or {}).get("headers") or {}).get("message-id", ""))
    if message_id and not message_id.startswith("<"):
        message_id = f"<{message_id}>"
    detail = json.dumps(data.get("delivery-status") or {})[:500]
    if event == "failed":
        kind = "bounce" if data.get("severity") == "permanent" else "soft_bounce"
        return apply_feedback([Feedback(kind, recipient, f"Mailgun: {detail}", message_id)])
    if event == "complained":
        return apply_feedback([Feedback("complaint", recipient, "Mailgun complaint", message_id)])
    if event == "unsubscribed":
        subscriber = audience_services.Subscriber.objects.filter(email__iexact=recipient).first()
        if subscriber:
            audience_services.unsubscribe(subscriber, everything=True)
    return 0


# --- Bounce messages from a mailbox (RFC 3464) -------------------------------------------
def parse_dsn(raw: bytes) -> list[Feedback]:
    """Failed recipients of a delivery status notification. Non-DSN mail gives []."""
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    if msg.get_content_type() != "multipart/report":
        return []
    original_id = ""
    statuses = []
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/delivery-status":
            payload = part.get_payload()
            blocks = payload if isinstance(payload, list) else []
            if not blocks:
                text = part.get_payload(decode=True) or b""
                blocks = [
                    email.message_from_string(chunk)
                    for chunk in text.decode("utf-8", "replace").split("\n\n")
                ]
            for block in blocks:
                recipient = block.get("Final-Recipient") or block.get("Original-Recipient")
                if recipient:
                    statuses.append(
                        (
                            recipient.split(";", 1)[-1].strip(),
                            (block.get("Action") or "").strip().lower(),
                            (block.get("Status") or "").strip(),
                            (block.get("Diagnostic-Code") or "").strip(),
                        )
                    )
        elif ctype in ("message/rfc822", "text/rfc822-headers") and not original_id:
            inner = part.get_payload()
            if isinstance(inner, list) and inner:
                original_id = inner[0].get("Message-ID", "") or ""
            else:
                text = part.get_payload(decode=True) or b""
                original_id = email.message_from_bytes(text).get("Message-ID", "") or ""
    items = []
    for recipient, action, status, diagnostic in statuses:
        if action != "failed":
            continue
        kind = "bounce" if status.startswith("5") else "soft_bounce"
        items.append(Feedback(kind, recipient, f"DSN {status} {diagnostic}"[:500], original_id))
    return items


def process_bounce_message(raw: bytes) -> int:
    """Apply one bounce message read from the bounce mailbox."""
    return apply_feedback(parse_dsn(raw))


def process_unsubscribe_message(raw: bytes) -> bool:
    """A mail to the List-Unsubscribe mailto address: the subject carries the token."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    subject = str(msg.get("Subject", ""))
    match = re.search(r"unsubscribe\s+(\S+)", subject, re.IGNORECASE)
    if not match:
        return False
    try:
        audience_services.unsubscribe_by_token(match.group(1))
    except audience_services.AudienceError:
        return False
    return True
