"""Who receives an email publication, and freezing that audience into Delivery rows.

Freezing creates one Delivery row per (publication, subscriber) under a unique
constraint, so freezing twice inserts nothing; the rows are what the fan-out
(channels.email.fanout) claims and sends.

A large audience on PostgreSQL is frozen in subscriber-id ranges by
EMAIL_FREEZE_SESSIONS database sessions at once, each range one INSERT ... SELECT in its
own transaction (ON CONFLICT DO NOTHING). The send is marked frozen (and sending starts)
only once every range is in; a crash part-way leaves the send unfrozen, and the next
attempt inserts what is missing. Changing the audience of an unfrozen send deletes such
left-over rows.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import Max, Min
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.audiences import services as audience_services
from campaigns.audiences.models import MailingList
from channels.base import PublishError, Rendered

from .config import SMTPConfig
from .models import Delivery, EmailSend
from .signals import email_send_started

# Rows built in memory per bulk insert where INSERT ... SELECT is not available.
FREEZE_CHUNK = 2000
# Below this span of subscriber ids one statement is as fast as several sessions.
FREEZE_SPLIT_MIN_IDS = 200_000


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
        # Rows of a freeze that crashed part-way belong to the audience chosen before.
        Delivery.objects.filter(publication=publication).delete()
    return send


def start_email_send(publication, rendered: Rendered, config: SMTPConfig) -> EmailSend:
    """Freeze the audience into Delivery rows and start sending. Idempotent: a second
    call returns the same EmailSend and adds no rows. Raises PublishError(permanent)
    when no list is chosen."""
    mailing_list, segment = resolve_audience(publication, config)
    if mailing_list is None:
        raise PublishError(_("No mailing list chosen for this email."), permanent=True)
    # Other sessions see only committed subscribers: inside a caller's transaction
    # (tests, a shell) the freeze stays in this one.
    may_split = not connection.in_atomic_block
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
            count = freeze_deliveries(publication, audience, may_split=may_split)
            send.subject = rendered.subject
            send.html = rendered.html
            send.text = rendered.text
            send.recipient_count = count
            send.frozen_at = timezone.now()
            send.status = EmailSend.Status.SENDING
            send.save()
            transaction.on_commit(lambda: email_send_started.send(EmailSend, send_id=send.pk))
    return send


def freeze_deliveries(publication, audience, may_split: bool = False) -> int:
    """One pending Delivery per audience member (existing rows are kept); returns how
    many rows the publication has. Never holds the audience in memory: on PostgreSQL
    INSERT ... SELECT, so the rows never travel to this process (unsorted: the sort of
    a large audience spills to disk, and nothing needs the delivery rows in subscriber
    order), in id ranges by several sessions when `may_split` and the audience is large
    (see the module docstring); elsewhere streamed and written FREEZE_CHUNK rows at a
    time.

    The caller holds the send's row lock, so no other freeze of this publication runs:
    when it has no rows yet (every freeze but one resumed after a crash) the rows go in
    without ON CONFLICT, a quarter faster, and are counted as they go in; the unique
    constraint still refuses a duplicate (an error, never a second row)."""
    if connection.vendor != "postgresql":
        _insert_in_chunks(publication, audience.order_by("pk").values_list("pk", "email"))
        return Delivery.objects.filter(publication=publication).count()
    resuming = Delivery.objects.filter(publication=publication).exists()
    members = audience.order_by().values_list("pk", "email")
    ranges = _id_ranges(audience) if may_split else []
    if len(ranges) > 1:
        with ThreadPoolExecutor(max_workers=len(ranges)) as pool:
            # sum() waits for every range and re-raises a session's error.
            inserted = sum(
                pool.map(lambda r: _insert_range(publication, members, resuming, *r), ranges)
            )
    else:
        inserted = _insert_selected(publication, members, resuming)
    if resuming:
        return Delivery.objects.filter(publication=publication).count()
    return inserted


def _id_ranges(audience) -> list[tuple[int, int]]:
    """EMAIL_FREEZE_SESSIONS half-open ranges of subscriber ids covering the audience's
    table (from its primary key's ends); none when the span is small."""
    sessions = max(1, settings.EMAIL_FREEZE_SESSIONS)
    ends = audience.model._default_manager.aggregate(low=Min("pk"), high=Max("pk"))
    low, high = ends["low"], ends["high"]
    if low is None or sessions == 1 or high - low < FREEZE_SPLIT_MIN_IDS:
        return []
    step = (high - low) // sessions + 1
    return [(low + i * step, low + (i + 1) * step) for i in range(sessions)]


def _insert_range(publication, members, resuming: bool, low: int, high: int) -> int:
    """One range in this thread's own session and transaction, then its session closed."""
    try:
        with transaction.atomic():
            return _insert_selected(publication, members.filter(pk__gte=low, pk__lt=high), resuming)
    finally:
        connections.close_all()


def _insert_selected(publication, members, resuming: bool) -> int:
    """INSERT ... SELECT of `members`' rows; returns how many went in."""
    sql, params = members.query.sql_with_params()
    table = Delivery._meta.db_table
    on_conflict = " ON CONFLICT (publication_id, subscriber_id) DO NOTHING" if resuming else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (publication_id, subscriber_id, email, status,"
            " claim_token, attempts, message_id, error)"
            f" SELECT %s, member.id, member.email, %s, '', 0, '', ''"
            f" FROM ({sql}) AS member (id, email){on_conflict}",
            [publication.pk, Delivery.Status.PENDING.value, *params],
        )
        return cursor.rowcount


def _insert_in_chunks(publication, members) -> None:
    batch = []
    for subscriber_id, email in members.iterator(chunk_size=FREEZE_CHUNK):
        batch.append(Delivery(publication=publication, subscriber_id=subscriber_id, email=email))
        if len(batch) >= FREEZE_CHUNK:
            Delivery.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    Delivery.objects.bulk_create(batch, ignore_conflicts=True)
