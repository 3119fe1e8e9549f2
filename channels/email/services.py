"""The email fan-out: freeze the audience, send in claimed batches, pause/resume/cancel.

Exactly one message per recipient:
- one Delivery row per (publication, subscriber) under a unique constraint, created when
  the audience is frozen (freezing twice inserts nothing);
- a batch claims pending rows with SELECT ... FOR UPDATE SKIP LOCKED (PostgreSQL; on
  SQLite the IMMEDIATE transaction serialises claims) and marks them "sending" with its
  own claim token, so two runs of the same task never share a row;
- each row is marked "sent" in its own commit at the moment its message is handed to
  the SMTP server, between the content and the end-of-data (see SentMarks): a killed
  worker never causes a second copy. Its other claimed rows go back to pending once
  their lease (longer than the task's hard time limit) has expired.
"""

from __future__ import annotations

import datetime
import functools
import logging
import secrets
import select
import smtplib
import socket
import ssl
import time
from dataclasses import dataclass, field

import django.dispatch
from django.db import DatabaseError, connection, transaction
from django.db.models import Count, F
from django.utils import timezone
from django.utils.translation import gettext as _
from psycopg import pq

from campaigns.audiences import services as audience_services
from campaigns.audiences.models import MailingList
from channels.base import PublishError, Rendered

from . import smtp
from .config import SMTPConfig
from .mime import MessageFrame
from .models import Delivery, EmailSend

logger = logging.getLogger(__name__)

# Sent (sender=EmailSend, send_id=...) after commit when a fan-out starts or resumes.
# channels.email.tasks listens and enqueues the batch tasks.
email_send_started = django.dispatch.Signal()

# Longer than CELERY_TASK_TIME_LIMIT: a claim this old belongs to a dead worker.
CLAIM_LEASE = datetime.timedelta(minutes=15)
PAUSE_CHECK_EVERY = 50
MAX_ATTEMPTS = 3


class TransientSendError(Exception):
    """The SMTP server is unreachable or failed mid-batch; try again later."""


@dataclass
class BatchResult:
    claimed: int = 0
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    released: int = 0
    more: bool = False
    sent_ids: list[int] = field(default_factory=list)


# --- freezing ----------------------------------------------------------------------------
def resolve_audience(publication, config: SMTPConfig):
    """(mailing_list, segment) chosen for this publication, else the account's default."""
    send = EmailSend.objects.filter(publication=publication).first()
    if send is not None:
        return send.mailing_list, send.segment
    mailing_list = MailingList.objects.filter(slug=config.default_list).first()
    return mailing_list, None


def set_email_audience(publication, mailing_list: MailingList, segment=None) -> EmailSend:
    """Choose who receives an email publication. Refused once sending has started."""
    if segment is not None and segment.mailing_list_id != mailing_list.pk:
        raise ValueError(_("The segment belongs to another list."))
    with transaction.atomic():
        send, _created = EmailSend.objects.select_for_update().get_or_create(
            publication=publication,
            defaults={"mailing_list": mailing_list, "segment": segment},
        )
        if send.frozen_at:
            raise ValueError(_("The audience is frozen: sending has started."))
        send.mailing_list, send.segment = mailing_list, segment
        send.save(update_fields=["mailing_list", "segment", "updated_at"])
    return send


def start_email_send(publication, rendered: Rendered, config: SMTPConfig) -> EmailSend:
    """Freeze the audience into Delivery rows and start sending. Idempotent: a second
    call returns the same EmailSend and adds no rows. Raises PublishError(permanent)
    when no list is chosen."""
    mailing_list, segment = resolve_audience(publication, config)
    if mailing_list is None:
        raise PublishError(_("No mailing list chosen for this email."), permanent=True)
    with transaction.atomic():
        send, _created = EmailSend.objects.select_for_update().get_or_create(
            publication=publication,
            defaults={"mailing_list": mailing_list, "segment": segment},
        )
        if send.frozen_at is None:
            audience = (
                audience_services.segment_audience(segment)
                if segment
                else audience_services.list_audience(mailing_list)
            )
            count = _freeze_rows(publication, audience)
            send.subject = rendered.subject
            send.html = rendered.html
            send.text = rendered.text
            send.recipient_count = count
            send.frozen_at = timezone.now()
            send.status = EmailSend.Status.SENDING
            send.save()
            transaction.on_commit(lambda: email_send_started.send(EmailSend, send_id=send.pk))
    return send


def _freeze_rows(publication, audience) -> int:
    """One pending Delivery per audience member (existing rows are kept). On
    PostgreSQL a single INSERT ... SELECT, so the rows never travel to this process."""
    members = audience.order_by("pk").values_list("pk", "email")
    if connection.vendor == "postgresql":
        sql, params = members.query.sql_with_params()
        table = Delivery._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (publication_id, subscriber_id, email, status,"
                " claim_token, attempts, message_id, error)"
                f" SELECT %s, member.id, member.email, %s, '', 0, '', ''"
                f" FROM ({sql}) AS member (id, email)"
                " ON CONFLICT (publication_id, subscriber_id) DO NOTHING",
                [publication.pk, Delivery.Status.PENDING.value, *params],
            )
    else:
        batch = []
        for subscriber_id, email in members.iterator(chunk_size=2000):
            batch.append(
                Delivery(publication=publication, subscriber_id=subscriber_id, email=email)
            )
            if len(batch) >= 2000:
                Delivery.objects.bulk_create(batch, ignore_conflicts=True)
                batch = []
        Delivery.objects.bulk_create(batch, ignore_conflicts=True)
    return Delivery.objects.filter(publication=publication).count()


# --- sending -------------------------------------------------------------------------------
def open_smtp(config: SMTPConfig) -> smtplib.SMTP:
    """One connection for a whole batch. Raises TransientSendError when unreachable."""
    try:
        if config.security == "ssl":
            conn = smtp.SMTP_SSL(
                config.host,
                config.port,
                timeout=config.timeout,
                context=ssl.create_default_context(),
            )
        else:
            conn = smtp.SMTP(config.host, config.port, timeout=config.timeout)
            conn.ehlo()
            if config.security == "starttls":
                conn.starttls(context=ssl.create_default_context())
                conn.ehlo()
        if config.username:
            conn.login(config.username, config.password)
    except smtplib.SMTPAuthenticationError as exc:
        raise PublishError(_("SMTP login refused: %(err)s") % {"err": exc}, permanent=True) from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise TransientSendError(f"cannot connect to {config.host}:{config.port}: {exc}") from exc
    return conn


def claim_deliveries(send: EmailSend, limit: int) -> tuple[str, list[Delivery]]:
    """Claim up to `limit` pending rows for this caller. Rows locked by another
    transaction are skipped, never waited for or shared."""
    token = secrets.token_hex(8)
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(publication_id=send.publication_id, status=Delivery.Status.PENDING)
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            Delivery.objects.filter(pk__in=ids, status=Delivery.Status.PENDING).update(
                status=Delivery.Status.SENDING,
                claim_token=token,
                claimed_at=now,
                attempts=F("attempts") + 1,
            )
    rows = list(
        Delivery.objects.filter(claim_token=token, status=Delivery.Status.SENDING)
        .select_related("subscriber")
        .order_by("pk")
    )
    return token, rows


def _skip_unsubscribed(send: EmailSend, rows: list[Delivery], token: str) -> list[Delivery]:
    """Unsubscribes and suppressions that happened since freezing win over the frozen
    audience: they are checked again for every batch, right before it is sent."""
    allowed = audience_services.mailable_ids(send.mailing_list, [r.subscriber_id for r in rows])
    skipped = [r.pk for r in rows if r.subscriber_id not in allowed]
    if skipped:
        Delivery.objects.filter(pk__in=skipped, claim_token=token).update(
            status=Delivery.Status.SKIPPED, error="unsubscribed or suppressed before sending"
        )
    return [r for r in rows if r.subscriber_id in allowed]


def _release(ids: list[int], token: str) -> int:
    if not ids:
        return 0
    return Delivery.objects.filter(
        pk__in=ids, claim_token=token, status=Delivery.Status.SENDING
    ).update(status=Delivery.Status.PENDING, claim_token="", claimed_at=None)


def message_values(send: EmailSend, delivery: Delivery) -> dict:
    """Per-recipient merge values (see channels.email.rendering)."""
    from analytics.tokens import message_token, open_pixel_url

    subscriber = delivery.subscriber
    key = audience_services.recipient_key(subscriber.pk)
    m = message_token(send.publication_id, key)
    link_token = audience_services.subscriber_token(
        subscriber.pk, send.mailing_list_id, send.publication_id
    )
    name = subscriber.name or _("there")
    return {
        "name": name,
        "first_name": name.split(" ")[0],
        "email": subscriber.email,
        "m": m,
        "unsubscribe_url": audience_services.unsubscribe_url(link_token),
        "preferences_url": audience_services.preferences_url(link_token),
        "open_pixel_url": open_pixel_url(m),
    }


def message_id_for(send: EmailSend, delivery: Delivery, config: SMTPConfig) -> str:
    # Stable per delivery: a resend after an unknown outcome reuses it, so receiving
    # servers and our bounce matching see the same message.
    return f"<{send.publication.idempotency_key.hex}.{delivery.pk}@{config.message_id_domain}>"


def build_frame(send: EmailSend, config: SMTPConfig) -> MessageFrame:
    return MessageFrame(
        config,
        subject=send.subject,
        html=send.html,
        text=send.text,
        list_id=f"<{send.mailing_list.slug}.{config.message_id_domain}>",
    )


def _fast_commits():
    """A sending worker commits one row per message. With asynchronous commit each is
    durable against the worker dying (what we guard against) without waiting for a WAL
    flush; a database crash could at worst lose the last few marks."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO OFF")


def _restore_commits():
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")


_MARK_SENT_SQL = (
    f"UPDATE {Delivery._meta.db_table} SET status = %s, sent_at = %s, message_id = %s"
    " WHERE id = %s AND claim_token = %s"
)
# The same statement with libpq's numbered parameters, for SentMarks' raw sends.
_MARK_SENT_PG = (
    f"UPDATE {Delivery._meta.db_table} SET status = $1, sent_at = $2, message_id = $3"
    " WHERE id = $4 AND claim_token = $5"
).encode()
_UNMARK_SQL = (
    f"UPDATE {Delivery._meta.db_table} SET status = %s, sent_at = NULL, message_id = ''"
    " WHERE id = %s AND claim_token = %s"
)


class SentMarks:
    """Marks delivery rows sent, one commit per message, at the moment the message is
    handed to the SMTP server: after its content is written and right before its
    end-of-data (MessageStream.end_message calls `mark` just before that write).

    A worker killed before the mark leaves a row that is sent again and a message the
    server discards (its DATA never ended); killed after both writes, a row marked sent
    and a message the server has. So a killed worker never causes a second copy. What
    is left is the gap between the two writes, in which a kill would lose a message;
    `mark` keeps that gap to a few instructions: on PostgreSQL over TCP the UPDATE is
    written to a corked socket (TCP_CORK), so it wakes no database process that could
    take the CPU before our next write; `flush` then uncorks it. The kernel sends corked
    data on close, so a worker killed in between still gets its mark committed.
    A worker that lives to see a refusal or a broken connection takes the mark back
    (`unmark`).

    The result is read later (`wait`), so the database works while the SMTP server
    does: PostgreSQL runs and commits a statement it has received even if the client
    is gone by then. Elsewhere (SQLite) the mark is an ordinary statement.
    """

    def __init__(self, token: str):
        self.token = token
        connection.ensure_connection()
        self.pgconn = connection.connection.pgconn if connection.vendor == "postgresql" else None
        self.cursor = None if self.pgconn is not None else connection.cursor()
        self.in_flight = False
        self._tcp = None  # the database socket, when it is TCP (a Unix socket has no cork)
        if self.pgconn is not None:
            sock = socket.fromfd(self.pgconn.socket, socket.AF_INET, socket.SOCK_STREAM)
            try:
                sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_CORK)
                self._tcp = sock
            except OSError:
                sock.close()

    def mark(self, delivery_id: int, message_id: str) -> None:
        now = timezone.now()
        if self.pgconn is None:
            self.cursor.execute(
                _MARK_SENT_SQL, [Delivery.Status.SENT, now, message_id, delivery_id, self.token]
            )
            return
        pg = self.pgconn
        params = [Delivery.Status.SENT.value, now.isoformat(), message_id, str(delivery_id)]
        if self._tcp is not None:
            self._tcp.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
        pg.send_query_params(_MARK_SENT_PG, [p.encode() for p in [*params, self.token]])
        while pg.flush():
            select.select([], [pg.socket], [])
        self.in_flight = True

    def flush(self) -> None:
        """Let the mark written by `mark` go to the database now."""
        if self._tcp is not None and self.in_flight:
            self._tcp.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 0)

    def wait(self) -> None:
        """Read the result of the mark in flight, if any."""
        if not self.in_flight:
            return
        self.flush()
        self.in_flight = False
        pg = self.pgconn
        pg.consume_input()
        while pg.is_busy():
            select.select([pg.socket], [], [])
            pg.consume_input()
        error = None
        while (result := pg.get_result()) is not None:
            if result.status != pq.ExecStatus.COMMAND_OK:
                error = result.error_message.decode("utf-8", "replace")
        if error:
            raise DatabaseError(error)

    def unmark(self, delivery_id: int) -> None:
        """The server refused the message or the connection broke before its reply:
        the row is ours ("sending") again, for the caller to record or release."""
        self.wait()
        with connection.cursor() as cursor:
            cursor.execute(_UNMARK_SQL, [Delivery.Status.SENDING, delivery_id, self.token])

    def close(self) -> None:
        self.wait()
        if self.cursor is not None:
            self.cursor.close()
        if self._tcp is not None:
            self._tcp.close()  # a duplicate of the descriptor: the connection stays open


def send_next_batch(send_id: int, *, batch_size: int | None = None) -> BatchResult:
    """Claim and send one batch of an EmailSend over one SMTP connection.

    Safe to run concurrently and repeatedly: returns at once when the send is not
    "sending" (paused, cancelled, finished). Checks for a pause every
    PAUSE_CHECK_EVERY messages and puts unsent claimed rows back. Raises
    TransientSendError when the server fails (claimed rows are released first).
    """
    result = BatchResult()
    send = (
        EmailSend.objects.select_related("publication", "publication__channel_account")
        .select_related("mailing_list")
        .get(pk=send_id)
    )
    if send.status != EmailSend.Status.SENDING:
        return result
    config = SMTPConfig.from_account(send.publication.channel_account)
    token, rows = claim_deliveries(send, batch_size or config.batch_size)
    result.claimed = len(rows)
    if not rows:
        finish_if_done(send)
        return result
    allowed = _skip_unsubscribed(send, rows, token)
    result.skipped = len(rows) - len(allowed)
    if not allowed:
        result.more = _has_pending(send)
        return result
    try:
        conn = open_smtp(config)
    except Exception:
        _release([r.pk for r in allowed], token)
        raise
    _fast_commits()
    marks = SentMarks(token)
    try:
        _send_rows(send, config, conn, allowed, token, marks, result)
    finally:
        try:
            marks.close()
        finally:
            _restore_commits()
            _record_sends(send, result.sent_ids)
    result.more = _has_pending(send)
    if not result.more:
        finish_if_done(send)
    return result


def _send_rows(send, config, conn, rows, token, marks: SentMarks, result: BatchResult) -> None:
    """The send loop: with PIPELINING one round trip per message, the next message
    built while the server reads the last one, and each mark's commit running in the
    database meanwhile (see SentMarks)."""
    frame = build_frame(send, config)
    stream = smtp.MessageStream(conn, config.bounce_address or config.from_email)
    interval = (
        config.concurrency / config.rate_limit_per_second if config.rate_limit_per_second else 0
    )
    next_at = time.monotonic()

    def build(delivery):
        message_id = message_id_for(send, delivery, config)
        message = frame.build(
            to_email=delivery.email,
            to_name=delivery.subscriber.name,
            message_id=message_id,
            values=message_values(send, delivery),
            dot_stuffed=frame.can_dot_stuff,
        )
        return message_id, message

    end = len(rows)  # becomes the index of the first row left unsent by a pause
    index, in_hand = 0, None  # in_hand: marked sent, the server's reply not yet read
    try:
        stream.start(rows[0].email)
        built = build(rows[0])
        for index, delivery in enumerate(rows):
            if index >= end:
                break
            upcoming = rows[index + 1] if index + 1 < end else None
            if (
                upcoming is not None
                and (index + 1) % PAUSE_CHECK_EVERY == 0
                and not _still_sending(send.pk)
            ):
                end, upcoming = index + 1, None
            try:
                stream.read_envelope()
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError) as exc:
                code, reason = _refusal(exc)
                _refused(delivery, token, code, reason, result)
                if upcoming is not None:
                    stream.start(upcoming.email)
                    built = build(upcoming)
                continue
            message_id, message = built
            if interval:
                delay = next_at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                next_at = max(next_at, time.monotonic()) + interval
            stream.write_content(message, dot_stuffed=frame.can_dot_stuff)
            in_hand = delivery
            stream.end_message(
                upcoming.email if upcoming is not None else None,
                on_hand_over=functools.partial(marks.mark, delivery.pk, message_id),
            )
            marks.flush()
            if upcoming is not None:
                built = build(upcoming)
            try:
                stream.read_data_reply()
            except smtplib.SMTPDataError as exc:
                marks.unmark(delivery.pk)
                in_hand = None
                _refused(delivery, token, exc.smtp_code, exc.smtp_error, result)
                continue
            marks.wait()
            in_hand = None
            result.sent += 1
            result.sent_ids.append(delivery.pk)
        if end < len(rows):
            result.released += _release([r.pk for r in rows[end:]], token)
        stream.close()
    except (OSError, smtplib.SMTPException) as exc:
        stream.close()
        if in_hand is not None:
            marks.unmark(in_hand.pk)
        result.released += _release([r.pk for r in rows[index:]], token)
        raise TransientSendError(f"SMTP failed mid-batch: {exc}") from exc
    except BaseException:
        stream.close()
        raise


def _refusal(exc: smtplib.SMTPException) -> tuple[int, bytes]:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return next(iter(exc.recipients.values()), (0, b""))
    return exc.smtp_code, exc.smtp_error


def _refused(delivery, token, code, reason, result: BatchResult) -> None:
    reason = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
    if 500 <= int(code or 0) < 600:
        Delivery.objects.filter(pk=delivery.pk, claim_token=token).update(
            status=Delivery.Status.FAILED, error=f"{code} {reason}"[:2000]
        )
        if str(code) in ("550", "551", "553"):
            audience_services.suppress_address(
                delivery.email, "hard_bounce", f"refused at send time: {code} {reason}"
            )
        result.failed += 1
    elif delivery.attempts >= MAX_ATTEMPTS:
        Delivery.objects.filter(pk=delivery.pk, claim_token=token).update(
            status=Delivery.Status.FAILED, error=f"{code} {reason}"[:2000]
        )
        result.failed += 1
    else:
        result.released += _release([delivery.pk], token)


def _record_sends(send: EmailSend, delivery_ids: list[int]) -> None:
    if not delivery_ids:
        return
    from analytics.events import record_events

    now = timezone.now()
    subscriber_ids = Delivery.objects.filter(pk__in=delivery_ids).values_list(
        "subscriber_id", flat=True
    )
    try:
        record_events(
            [
                {
                    "kind": "send",
                    "publication_id": send.publication_id,
                    "occurred_at": now,
                    "recipient_key": audience_services.recipient_key(sid),
                }
                for sid in subscriber_ids
            ]
        )
    except Exception:  # noqa: BLE001 - analytics must never make us resend mail
        logger.exception("could not record send events for email send %s", send.pk)


def _still_sending(send_id: int) -> bool:
    return EmailSend.objects.filter(pk=send_id, status=EmailSend.Status.SENDING).exists()


def _has_pending(send: EmailSend) -> bool:
    return Delivery.objects.filter(
        publication_id=send.publication_id, status=Delivery.Status.PENDING
    ).exists()


def finish_if_done(send: EmailSend) -> bool:
    """Mark the send finished when no row is pending or being sent."""
    open_rows = Delivery.objects.filter(
        publication_id=send.publication_id,
        status__in=[Delivery.Status.PENDING, Delivery.Status.SENDING],
    )
    if open_rows.exists():
        return False
    return bool(
        EmailSend.objects.filter(pk=send.pk, status=EmailSend.Status.SENDING).update(
            status=EmailSend.Status.FINISHED, finished_at=timezone.now()
        )
    )


def release_stale_claims(send_id: int | None = None, now=None, lease=CLAIM_LEASE) -> int:
    """Put rows claimed by a worker that died (lease expired) back to pending."""
    now = now or timezone.now()
    qs = Delivery.objects.filter(status=Delivery.Status.SENDING, claimed_at__lt=now - lease)
    if send_id is not None:
        qs = qs.filter(publication__email_send__pk=send_id)
    return qs.update(status=Delivery.Status.PENDING, claim_token="", claimed_at=None)


# --- control -------------------------------------------------------------------------------
def pause_email_send(send: EmailSend) -> bool:
    """Stop sending after the messages in flight; nothing is lost. Idempotent."""
    return bool(
        EmailSend.objects.filter(pk=send.pk, status=EmailSend.Status.SENDING).update(
            status=EmailSend.Status.PAUSED
        )
    )


def resume_email_send(send: EmailSend) -> bool:
    """Continue a paused send with the rows not yet sent. Idempotent."""
    changed = EmailSend.objects.filter(pk=send.pk, status=EmailSend.Status.PAUSED).update(
        status=EmailSend.Status.SENDING
    )
    if changed:
        transaction.on_commit(lambda: email_send_started.send(EmailSend, send_id=send.pk))
    return bool(changed)


def cancel_email_send(send: EmailSend) -> int:
    """Stop for good: rows not yet sent are marked skipped. Returns how many."""
    with transaction.atomic():
        EmailSend.objects.filter(
            pk=send.pk, status__in=[EmailSend.Status.SENDING, EmailSend.Status.PAUSED]
        ).update(status=EmailSend.Status.CANCELLED, finished_at=timezone.now())
        return Delivery.objects.filter(
            publication_id=send.publication_id, status=Delivery.Status.PENDING
        ).update(status=Delivery.Status.SKIPPED, error="cancelled")


def active_send_ids_needing_workers(idle_for=datetime.timedelta(seconds=60)) -> list[int]:
    """Sends with pending rows and no recent progress (their task chain died):
    the periodic pump restarts them."""
    now = timezone.now()
    ids = []
    for send in EmailSend.objects.filter(status=EmailSend.Status.SENDING):
        release_stale_claims(send.pk, now=now)
        rows = Delivery.objects.filter(publication_id=send.publication_id)
        if not rows.filter(status=Delivery.Status.PENDING).exists():
            finish_if_done(send)
            continue
        busy = rows.filter(status=Delivery.Status.SENDING).exists()
        recent = rows.filter(sent_at__gte=now - idle_for).exists()
        if not busy and not recent:
            ids.append(send.pk)
    return ids


def send_counts(send: EmailSend) -> dict[str, int]:
    counts = {s: 0 for s in Delivery.Status.values}
    for row in (
        Delivery.objects.filter(publication_id=send.publication_id)
        .values("status")
        .annotate(n=Count("pk"))
    ):
        counts[row["status"]] = row["n"]
    return counts


# --- test sends and preview ------------------------------------------------------------------
SAMPLE_VALUES = {
    "name": "Alex Example",
    "first_name": "Alex",
    "email": "alex@example.com",
    "m": "",
    "unsubscribe_url": "#unsubscribe",
    "preferences_url": "#preferences",
    "open_pixel_url": "",
}


def preview_html(publication, rendered: Rendered) -> str:
    """The issue as a recipient would see it, with sample merge values."""
    from .rendering import CompiledMerge

    return CompiledMerge(rendered.html, escape=True).merge(dict(SAMPLE_VALUES))


def send_test_email(publication, rendered: Rendered, addresses: list[str]) -> int:
    """Send the rendered issue to chosen addresses (no delivery rows, no tracking
    tokens, links marked as a test). Returns how many were accepted."""
    config = SMTPConfig.from_account(publication.channel_account)
    frame = MessageFrame(
        config,
        subject=_("[Test] %(subject)s") % {"subject": rendered.subject},
        html=rendered.html,
        text=rendered.text,
        list_id=f"<test.{config.message_id_domain}>",
    )
    conn = open_smtp(config)
    accepted = 0
    try:
        for address in addresses:
            values = dict(
                SAMPLE_VALUES, email=address, unsubscribe_url=audience_services.absolute_url("/")
            )
            mid = f"<test.{secrets.token_hex(8)}@{config.message_id_domain}>"
            msg = frame.build(to_email=address, to_name="", message_id=mid, values=values)
            try:
                conn.sendmail(config.bounce_address or config.from_email, [address], msg)
                accepted += 1
            except smtplib.SMTPRecipientsRefused:
                continue
    finally:
        try:
            conn.quit()
        except (OSError, smtplib.SMTPException):
            pass
    return accepted
