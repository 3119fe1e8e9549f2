"""Sending one claimed batch of an email send over one SMTP connection.

Exactly one message per recipient: the rows come claimed (channels.email.claims), and
each is marked "sent" in its own commit at the moment its message is handed to the
SMTP server, between the content and the end-of-data (channels.email.sentmarks): a
killed worker never causes a second copy. Its other claimed rows go back to pending
once their lease has expired.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import smtplib
import time
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext as _

from analytics.events import record_events
from campaigns.audiences import services as audience_services
from campaigns.models import Campaign, Notification
from campaigns.notifications import notify_user

from . import smtp
from .claims import (
    claim_deliveries,
    fail_claimed,
    has_pending,
    release_claims,
    skip_unsubscribed,
    still_sending,
)
from .config import SMTPConfig
from .control import (
    cancel_email_send,
    finish_and_announce,
    pause_email_send,
    skip_unsent_rows,
)
from .models import Delivery, EmailSend
from .sender import TransientSendError, build_frame, message_id_for, message_values, open_smtp
from .sentmarks import SentMarks, fast_commits

logger = logging.getLogger(__name__)

PAUSE_CHECK_EVERY = 50
MAX_ATTEMPTS = 3
# A server that refuses this many messages in a row, or answers 421 ("closing", "too much
# mail"), is refusing the send, not the addresses: the send pauses and its owner is told,
# instead of burning through the list. The refused rows go back to pending or fail as
# any refusal does.
REFUSALS_BEFORE_PAUSE = 5
SERVER_CLOSING = 421
# Refusals at send time that mean the address does not exist: suppressed for good.
UNKNOWN_ADDRESS_CODES = ("550", "551", "553")


@dataclass
class BatchResult:
    claimed: int = 0
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    released: int = 0
    more: bool = False
    sent_ids: list[int] = field(default_factory=list)


def send_next_batch(
    send_id: int, *, batch_size: int | None = None, pause_check_every: int = PAUSE_CHECK_EVERY
) -> BatchResult:
    """Claim and send one batch of an EmailSend over one SMTP connection.

    Safe to run concurrently and repeatedly: returns at once when the send is not
    "sending" (paused, cancelled, finished). Checks for a pause every
    `pause_check_every` messages and puts unsent claimed rows back. Raises
    TransientSendError when the server fails (claimed rows are released first).
    """
    result = BatchResult()
    send = (
        EmailSend.objects.select_related("publication", "publication__channel_account")
        .select_related("publication__campaign", "mailing_list")
        .get(pk=send_id)
    )
    if send.status == EmailSend.Status.CANCELLED:
        skip_unsent_rows(send)  # rows a batch running at the cancel put back
        return result
    if send.status != EmailSend.Status.SENDING or not campaign_lets_it_run(send):
        return result
    config = SMTPConfig.from_account(send.publication.channel_account)
    token, rows = claim_deliveries(send, batch_size or config.batch_size)
    result.claimed = len(rows)
    if not rows:
        finish_and_announce(send)
        return result
    allowed = skip_unsubscribed(send, rows, token)
    result.skipped = len(rows) - len(allowed)
    if not allowed:
        result.more = has_pending(send)
        return result
    try:
        conn = open_smtp(config)
    except Exception:
        release_claims([r.pk for r in allowed], token)
        raise
    try:
        with fast_commits():
            marks = SentMarks(token)
            try:
                loop = _SendLoop(send, config, conn, token, marks, result, pause_check_every)
                loop.run(allowed)
            finally:
                marks.close()
    finally:
        record_sends(send, result.sent_ids)
    if loop.server_refusing:
        pause_for_refusals(send, loop.server_refusing)
    result.more = has_pending(send)
    if not result.more:
        finish_and_announce(send)
    return result


def campaign_lets_it_run(send: EmailSend) -> bool:
    """A send started while its campaign was being paused or cancelled (the audience
    was still freezing when the campaign's signal looked for running sends) follows the
    campaign here, before its first batch."""
    status = send.publication.campaign.status
    if status == Campaign.Status.PAUSED:
        pause_email_send(send, EmailSend.PauseReason.CAMPAIGN)
        return False
    if status == Campaign.Status.CANCELLED:
        cancel_email_send(send)
        return False
    return True


class _SendLoop:
    """The send loop: with PIPELINING one round trip per message, the next message
    built while the server reads the last one, and each mark's commit running in the
    database meanwhile (see SentMarks)."""

    def __init__(self, send, config, conn, token, marks: SentMarks, result, pause_check_every):
        self.send = send
        self.config = config
        self.token = token
        self.marks = marks
        self.result = result
        self.pause_check_every = pause_check_every
        self.frame = build_frame(send, config)
        self.stream = smtp.MessageStream(conn, config.bounce_address or config.from_email)
        self.interval = (
            config.concurrency / config.rate_limit_per_second if config.rate_limit_per_second else 0
        )
        self.next_at = time.monotonic()
        self.position = 0  # the row being sent: it and those after it are still claimed
        self.in_hand = None  # marked sent, the server's reply not yet read
        # Refusals in a row, not yet judged: a server refusing the send (not the
        # addresses) must not fail or suppress anyone; see REFUSALS_BEFORE_PAUSE.
        self.held: list[tuple[Delivery, int, str]] = []
        self.server_refusing = ""  # the last refusal, once the server refuses the send

    def run(self, rows: list[Delivery]) -> None:
        """Send `rows` in order. A broken connection releases the rows not sent and
        raises TransientSendError."""
        try:
            end = self.send_until_paused(rows)
            self.judge_held_refusals()
            if end < len(rows):
                self.result.released += release_claims([r.pk for r in rows[end:]], self.token)
            self.stream.close()
        except (OSError, smtplib.SMTPException) as exc:
            self.stream.close()
            if self.in_hand is not None:
                self.marks.unmark(self.in_hand.pk)
            unsent = [r.pk for r in rows[self.position :]]
            unsent += [delivery.pk for delivery, _code, _reason in self.held]
            self.result.released += release_claims(unsent, self.token)
            raise TransientSendError(f"SMTP failed mid-batch: {exc}") from exc
        except BaseException:
            self.stream.close()
            raise

    def send_until_paused(self, rows: list[Delivery]) -> int:
        """Returns the index of the first row left unsent by a pause (len(rows): none)."""
        end = len(rows)
        self.stream.start(rows[0].email)
        built = self.build(rows[0])
        for index, delivery in enumerate(rows):
            self.position = index
            if index >= end:
                break
            upcoming = rows[index + 1] if index + 1 < end else None
            if (
                upcoming is not None
                and (index + 1) % self.pause_check_every == 0
                and not still_sending(self.send.pk)
            ):
                end, upcoming = index + 1, None
            built = self.send_one(delivery, built, upcoming)
            if self.server_refusing:
                return index + 1
        return end

    def build(self, delivery: Delivery) -> tuple[str, bytes]:
        message_id = message_id_for(self.send, delivery, self.config)
        message = self.frame.build(
            to_email=delivery.email,
            to_name=delivery.subscriber.name,
            message_id=message_id,
            values=message_values(self.send, delivery),
            dot_stuffed=self.frame.can_dot_stuff,
        )
        return message_id, message

    def send_one(self, delivery: Delivery, built, upcoming: Delivery | None):
        """Send `delivery`'s message (its envelope is on the wire, `built` its message)
        and put `upcoming`'s envelope on the wire; returns `upcoming`'s message."""
        stream = self.stream
        try:
            stream.read_envelope()
        except smtplib.SMTPSenderRefused as exc:
            # Our sender refused: the server refuses the send, whoever the recipient.
            self.held.append((delivery, exc.smtp_code, ""))
            self.refuse_the_send(f"{exc.smtp_code} {_text(exc.smtp_error)}".strip())
            return None
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError) as exc:
            if isinstance(exc, smtp.UnsupportedAddress):
                # Refused by our client, not the server (no SMTPUTF8 for a non-ASCII
                # mailbox): about this address alone, so failed now, never counted
                # towards the server refusing the send.
                code, reason = refusal(exc)
                self.judge(delivery, code, _text(reason))
            else:
                self.refused(delivery, *refusal(exc))
            if upcoming is None or self.server_refusing:
                return None
            stream.start(upcoming.email)
            return self.build(upcoming)
        message_id, message = built
        if self.interval:
            self.keep_rate()
        stream.write_content(message, dot_stuffed=self.frame.can_dot_stuff)
        self.in_hand = delivery
        stream.end_message(
            upcoming.email if upcoming is not None else None,
            on_hand_over=functools.partial(self.marks.mark, delivery.pk, message_id),
        )
        self.marks.flush()
        upcoming_built = self.build(upcoming) if upcoming is not None else None
        try:
            stream.read_data_reply()
        except smtplib.SMTPDataError as exc:
            self.marks.unmark(delivery.pk)
            self.in_hand = None
            self.refused(delivery, exc.smtp_code, exc.smtp_error)
            return upcoming_built
        self.marks.wait()
        self.in_hand = None
        self.judge_held_refusals()  # the server still takes mail: they were about addresses
        self.result.sent += 1
        self.result.sent_ids.append(delivery.pk)
        return upcoming_built

    def keep_rate(self) -> None:
        """Sleep as needed so the account's workers together stay under its rate."""
        delay = self.next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self.next_at = max(self.next_at, time.monotonic()) + self.interval

    def refused(self, delivery: Delivery, code, reason) -> None:
        """Hold a refusal until the server shows whether it refuses the address or the
        send: five in a row, or a 421, and it is the send (the held rows go back to
        pending, unjudged, and the send pauses); a message accepted after them, or the
        batch's end, and they are judged one by one (`judge`)."""
        reason = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
        self.held.append((delivery, int(code or 0), reason))
        if int(code or 0) == SERVER_CLOSING or len(self.held) >= REFUSALS_BEFORE_PAUSE:
            self.refuse_the_send(f"{code} {reason}".strip())

    def refuse_the_send(self, last_refusal: str) -> None:
        self.server_refusing = last_refusal
        held = [delivery.pk for delivery, _code, _reason in self.held]
        self.result.released += release_claims(held, self.token)
        self.held = []

    def judge_held_refusals(self) -> None:
        for delivery, code, reason in self.held:
            self.judge(delivery, code, reason)
        self.held = []

    def judge(self, delivery: Delivery, code: int, reason: str) -> None:
        """A 5xx fails the row (and suppresses an address that does not exist); a
        temporary refusal puts it back, until it has had MAX_ATTEMPTS tries."""
        if 500 <= code < 600:
            fail_claimed(delivery.pk, self.token, f"{code} {reason}")
            if str(code) in UNKNOWN_ADDRESS_CODES:
                audience_services.suppress_address(
                    delivery.email, "hard_bounce", f"refused at send time: {code} {reason}"
                )
            self.result.failed += 1
        elif delivery.attempts >= MAX_ATTEMPTS:
            fail_claimed(delivery.pk, self.token, f"{code} {reason}")
            self.result.failed += 1
        else:
            self.result.released += release_claims([delivery.pk], self.token)


def pause_for_refusals(send: EmailSend, last_refusal: str) -> None:
    """Pause a send its mail server keeps refusing, and tell the campaign's owner."""
    if not pause_email_send(send, EmailSend.PauseReason.REFUSALS):
        return  # paused or cancelled by someone else meanwhile
    owner = send.publication.campaign.owner
    logger.warning("email send %s paused: the server refuses it (%s)", send.pk, last_refusal)
    if owner is not None:
        notify_user(
            owner,
            lambda: (
                _(
                    "The email “%(subject)s” was paused: the mail server refused %(count)d "
                    "messages in a row or asked us to stop (last answer: %(answer)s). "
                    "Check the account, then resume the send."
                )
                % {"subject": send.subject, "count": REFUSALS_BEFORE_PAUSE, "answer": last_refusal}
            ),
            level=Notification.Level.ERROR,
            publication=send.publication,
        )


def _text(reply) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def refusal(exc: smtplib.SMTPException) -> tuple[int, bytes]:
    """(code, reason) of a refused envelope or message."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return next(iter(exc.recipients.values()), (0, b""))
    return exc.smtp_code, exc.smtp_error


def record_sends(send: EmailSend, delivery_ids: list[int]) -> None:
    """Record, for each message the server accepted (250 to our DATA: the rows in
    `delivery_ids`), one "send" and one "delivery" analytics event, through the same
    event path as clicks (analytics.events.record_events). Refused recipients have no
    row here and get none. Idempotent: each event's uid comes from its delivery row, so
    recording a row twice stores it once. Never raises: analytics must never make us
    resend mail."""
    if not delivery_ids:
        return
    try:
        now = timezone.now()
        rows = Delivery.objects.filter(pk__in=delivery_ids).values_list(
            "pk", "subscriber_id", "sent_at"
        )
        record_events(
            [
                {
                    "kind": kind,
                    "publication_id": send.publication_id,
                    # Marked sent as the message was handed over; the 250 came just after.
                    "occurred_at": sent_at or now,
                    "recipient_key": audience_services.recipient_key(subscriber_id),
                    "uid": hashlib.sha256(f"{kind}|delivery-row|{pk}".encode()).hexdigest()[:32],
                }
                for pk, subscriber_id, sent_at in rows
                for kind in ("send", "delivery")
            ]
        )
    except Exception:  # noqa: BLE001 - analytics must never make us resend mail
        logger.exception("could not record send events for email send %s", send.pk)
