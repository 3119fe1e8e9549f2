"""Bounces and complaints: provider webhooks (Amazon SES via SNS, Mailgun), bounce
messages (RFC 3464 DSNs) read from a mailbox, and mailto unsubscribe requests.

Every source ends in `apply_feedback`: hard bounces and complaints go on the
suppression list, and a bounce/complaint event is recorded for the publication when the
original Message-ID is one of ours. Signatures are verified before anything is trusted.
"""

from __future__ import annotations

import base64
import datetime
import email
import email.policy
import hashlib
import hmac
import json
import logging
import re
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from analytics.events import record_events
from campaigns.audiences import services as audience_services
from campaigns.audiences.models import Suppression
from channels.http import ResponseTooLarge, fetch_bytes

from .models import Delivery, SeenWebhookToken

logger = logging.getLogger(__name__)


class FeedbackError(ValueError):
    """A webhook or message we refuse: bad signature, stale, malformed. `status` is the
    HTTP answer the webhook gives; its text, the reason, is short and safe to show."""

    status = 400


class ForeignTopic(FeedbackError):
    """An SNS message from a topic that is not the account's (or an account with no
    topic): never verified, confirmed or applied."""

    status = 403


class FeedbackUnavailable(FeedbackError):
    """Amazon SNS could not be reached to verify or confirm: answered 503 so SNS
    delivers the message again (it retries 5xx answers, not 4xx)."""

    status = 503


@dataclass
class Feedback:
    kind: str  # "bounce" (hard) | "soft_bounce" | "complaint"
    email: str
    detail: str = ""
    message_id: str = ""


def _usable_address(address: str) -> bool:
    """Worth looking up or suppressing: an address's shape, within the column's length,
    with no control characters (PostgreSQL refuses NUL in text)."""
    return (
        bool(address)
        and "@" in address
        and len(address) <= 254
        and not any(ord(char) < 32 or char == "\x7f" for char in address)
    )


_OUR_MESSAGE_ID = re.compile(r"<?[0-9a-f]{32}\.([0-9]{1,18})@[^>]+>?")


def apply_feedback(items: list[Feedback]) -> int:
    """Suppress hard bounces and complaints; record events. Idempotent. Returns how
    many addresses were newly suppressed."""
    suppressed = 0
    events = []
    now = timezone.now()
    for item in items:
        if not _usable_address(item.email):
            continue
        if item.kind in ("bounce", "complaint"):
            reason = (
                Suppression.Reason.HARD_BOUNCE
                if item.kind == "bounce"
                else Suppression.Reason.COMPLAINT
            )
            existed = audience_services.is_suppressed(item.email)
            detail = item.detail.replace("\x00", "")
            audience_services.suppress_address(item.email, reason, detail)
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


# --- Reading a webhook body -------------------------------------------------------------
# Deeper nesting than any provider sends; checked before parsing, so neither json.loads
# nor anything that walks the result later (json.dumps, str) meets a RecursionError.
MAX_JSON_DEPTH = 32


def _json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in `text`, strings skipped."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def load_json_object(body: bytes | str, what: str = "body") -> dict:
    """A webhook body (or an embedded message) as a JSON object. Raises FeedbackError
    for anything else: not UTF-8, not JSON, nested too deep, not an object."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
    except UnicodeDecodeError as exc:
        raise FeedbackError(f"{what} is not UTF-8") from exc
    if not isinstance(text, str):
        raise FeedbackError(f"{what} is not a JSON string")
    if _json_depth(text) > MAX_JSON_DEPTH:
        raise FeedbackError(f"{what} is nested too deeply")
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise FeedbackError(f"{what} is not JSON") from exc
    if not isinstance(payload, dict):
        raise FeedbackError(f"{what} is not a JSON object")
    return payload


def _text(value) -> str:
    """A JSON string that can be stored and encoded (no lone surrogates, no NUL), else
    ""."""
    if not isinstance(value, str) or "\x00" in value:
        return ""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return ""
    return value


def _obj(value) -> dict:
    return value if isinstance(value, dict) else {}


def _objs(value) -> list[dict]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _required_text(payload: dict, key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not _text(value):
        raise FeedbackError(f"{key} missing or not a string")
    return value


# --- Amazon SES through SNS --------------------------------------------------------------
_SNS_HOST = re.compile(r"^sns\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")
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
_SNS_OPTIONAL = {"Subject"}


def _fetch_certificate(url: str) -> bytes:
    return fetch_bytes(url, max_bytes=64 * 1024)


def _fetch_from_sns(fetch, url: str, what: str) -> bytes:
    """GET an Amazon SNS URL (through channels.http). A failure Amazon may recover from
    (no connection, a timeout, a 5xx) is FeedbackUnavailable, so the webhook answers
    503 and SNS delivers the message again; any other failure is a plain refusal."""
    try:
        return fetch(url)
    except httpx.HTTPStatusError as exc:
        status = exc.response.status_code
        if status >= 500:
            raise FeedbackUnavailable(f"{what}: Amazon SNS answered {status}") from exc
        raise FeedbackError(f"{what}: Amazon SNS answered {status}") from exc
    except ResponseTooLarge as exc:
        raise FeedbackError(f"{what} is too large") from exc
    except (httpx.HTTPError, OSError) as exc:
        raise FeedbackUnavailable(f"{what} could not be fetched ({type(exc).__name__})") from exc


def _certificate(cert_url: str, fetch) -> bytes:
    """Amazon's signing certificate, from the cache when it holds it. The cache only
    saves fetches: when it fails (Redis restarting), the certificate is fetched."""
    cache_key = "email:sns-cert:" + hashlib.sha256(cert_url.encode()).hexdigest()
    try:
        pem = cache.get(cache_key)
    except Exception:  # noqa: BLE001 - any cache backend's error; the fetch still works
        logger.warning("SNS certificate cache unavailable", exc_info=True)
        pem = None
    if pem is None:
        pem = _fetch_from_sns(fetch, cert_url, "SNS signing certificate")
        try:
            cache.set(cache_key, pem, 3600)
        except Exception:  # noqa: BLE001
            logger.warning("SNS certificate cache unavailable", exc_info=True)
    return pem


def verify_sns_message(payload: dict, fetch=_fetch_certificate) -> None:
    """Check an SNS message's signature against Amazon's certificate (only fetched from
    an sns.<region>.amazonaws.com https URL). Raises FeedbackError."""
    msg_type = payload.get("Type")
    if not isinstance(msg_type, str) or msg_type not in _SNS_FIELDS:
        raise FeedbackError("unknown SNS message type")
    cert_url = _required_text(payload, "SigningCertURL")
    parts = urlsplit(cert_url)
    if parts.scheme != "https" or not _SNS_HOST.match(parts.hostname or ""):
        raise FeedbackError("SigningCertURL is not an Amazon SNS https URL")
    version = payload.get("SignatureVersion")
    algorithm = {"1": hashes.SHA1(), "2": hashes.SHA256()}.get(  # noqa: S303
        version if isinstance(version, str) else ""
    )
    if algorithm is None:
        raise FeedbackError("unsupported SNS SignatureVersion")
    lines = []
    for key in _SNS_FIELDS[msg_type]:
        if key in _SNS_OPTIONAL and payload.get(key) is None:
            continue
        lines += [key, _required_text(payload, key)]
    string_to_sign = ("\n".join(lines) + "\n").encode()
    signature_text = _required_text(payload, "Signature")
    pem = _certificate(cert_url, fetch)
    try:
        cert = x509.load_pem_x509_certificate(pem)
        signature = base64.b64decode(signature_text, validate=True)
        cert.public_key().verify(signature, string_to_sign, padding.PKCS1v15(), algorithm)
    except (InvalidSignature, ValueError, TypeError, AttributeError) as exc:
        raise FeedbackError("SNS signature does not verify") from exc


def _header_message_id(mail: dict) -> str:
    for header in _objs(mail.get("headers")):
        if _text(header.get("name")).lower() == "message-id":
            return _text(header.get("value"))
    return _text(_obj(mail.get("commonHeaders")).get("messageId"))


def parse_ses_notification(message: dict) -> list[Feedback]:
    """The bounces and complaints of one SES notification; anything else gives []."""
    kind = _text(message.get("notificationType")) or _text(message.get("eventType"))
    message_id = _header_message_id(_obj(message.get("mail")))
    items = []
    if kind == "Bounce":
        bounce = _obj(message.get("bounce"))
        bounce_type, sub_type = _text(bounce.get("bounceType")), _text(bounce.get("bounceSubType"))
        for r in _objs(bounce.get("bouncedRecipients")):
            items.append(
                Feedback(
                    "bounce" if bounce_type == "Permanent" else "soft_bounce",
                    _text(r.get("emailAddress")),
                    f"SES {bounce_type}/{sub_type}: {_text(r.get('diagnosticCode'))}"[:500],
                    message_id,
                )
            )
    elif kind == "Complaint":
        complaint = _obj(message.get("complaint"))
        feedback_type = _text(complaint.get("complaintFeedbackType"))
        for r in _objs(complaint.get("complainedRecipients")):
            items.append(
                Feedback(
                    "complaint",
                    _text(r.get("emailAddress")),
                    f"SES complaint: {feedback_type}"[:500],
                    message_id,
                )
            )
    return items


def _topic_region(topic_arn: str) -> str:
    parts = topic_arn.split(":")
    return parts[3] if len(parts) > 3 else ""


def handle_sns_payload(body: bytes, *, topic_arn: str, fetch=_fetch_certificate) -> int:
    """Verify and apply one SNS POST for an account whose SES notifications come from
    `topic_arn`. Confirms the subscription of that topic and no other. Returns how many
    addresses were newly suppressed. Raises FeedbackError (ForeignTopic for a message
    of any other topic, before its certificate or SubscribeURL is fetched)."""
    if not topic_arn:
        raise ForeignTopic("no SNS topic ARN is configured for this account's SES webhook")
    payload = load_json_object(body)
    received_topic = payload.get("TopicArn")
    if received_topic != topic_arn:
        shown = received_topic[:300] if isinstance(received_topic, str) else "none"
        raise ForeignTopic(f"TopicArn {shown!r} is not this account's SES topic")
    verify_sns_message(payload, fetch=fetch)
    msg_type = payload["Type"]
    if msg_type == "SubscriptionConfirmation":
        url = _required_text(payload, "SubscribeURL")
        parts = urlsplit(url)
        host = _SNS_HOST.match(parts.hostname or "")
        if parts.scheme != "https" or not host or host.group(1) != _topic_region(topic_arn):
            raise FeedbackError("SubscribeURL is not the topic's Amazon SNS https URL")
        _fetch_from_sns(fetch, url, "SNS subscription confirmation")
        return 0
    if msg_type != "Notification":
        return 0
    message = load_json_object(payload["Message"], "SNS Message")
    return apply_feedback(parse_ses_notification(message))


# --- Mailgun -----------------------------------------------------------------------------
MAILGUN_MAX_AGE = 15 * 60
_MAILGUN_SIGNATURE = {
    "timestamp": re.compile(r"[0-9]{1,12}"),
    "token": re.compile(r"[\x21-\x7e]{1,256}"),
    "signature": re.compile(r"[0-9a-fA-F]{64}"),
}


def remember_token_once(token: str, ttl_seconds: int) -> bool:
    """Record a webhook token; False when it was already recorded and has not expired.
    In the database, so every process answering webhooks shares it: the unique key
    decides, atomically, which of two concurrent requests is first."""
    now = timezone.now()
    SeenWebhookToken.objects.filter(expires_at__lt=now).delete()
    try:
        with transaction.atomic():
            SeenWebhookToken.objects.create(
                token=token, expires_at=now + datetime.timedelta(seconds=ttl_seconds)
            )
    except IntegrityError:
        return False
    return True


def verify_mailgun(signature: dict, signing_key: str, now: float | None = None) -> None:
    """HMAC-SHA256 of timestamp+token with the webhook signing key; fresh; not replayed
    (seen tokens are kept past the freshness window, see `remember_token_once`)."""
    if not signing_key:
        raise FeedbackError("no Mailgun signing key configured")
    values = {}
    for key, pattern in _MAILGUN_SIGNATURE.items():
        value = signature.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise FeedbackError(f"signature block: {key} missing or malformed")
        values[key] = value
    timestamp, token = values["timestamp"], values["token"]
    expected = hmac.new(signing_key.encode(), (timestamp + token).encode(), hashlib.sha256)
    if not hmac.compare_digest(expected.hexdigest(), values["signature"].lower()):
        raise FeedbackError("Mailgun signature does not verify")
    now = now if now is not None else time.time()
    if abs(now - int(timestamp)) > MAILGUN_MAX_AGE:
        raise FeedbackError("Mailgun webhook too old")
    if not remember_token_once(f"mailgun:{token}", MAILGUN_MAX_AGE * 2):
        raise FeedbackError("Mailgun webhook replayed")


def handle_mailgun_payload(body: bytes, signing_key: str) -> int:
    """Verify and apply one Mailgun webhook POST. Raises FeedbackError."""
    payload = load_json_object(body)
    verify_mailgun(_obj(payload.get("signature")), signing_key)
    data = _obj(payload.get("event-data"))
    event = _text(data.get("event"))
    recipient = _text(data.get("recipient"))
    message_id = _text(_obj(_obj(data.get("message")).get("headers")).get("message-id"))
    if message_id and not message_id.startswith("<"):
        message_id = f"<{message_id}>"
    detail = json.dumps(_obj(data.get("delivery-status")))[:500]
    if event == "failed":
        kind = "bounce" if data.get("severity") == "permanent" else "soft_bounce"
        return apply_feedback([Feedback(kind, recipient, f"Mailgun: {detail}", message_id)])
    if event == "complained":
        return apply_feedback([Feedback("complaint", recipient, "Mailgun complaint", message_id)])
    if event == "unsubscribed" and _usable_address(recipient):
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
