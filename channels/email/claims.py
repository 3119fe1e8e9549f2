"""Delivery rows through a batch: claimed, skipped, released, and the send's end.

A batch claims pending rows with SELECT ... FOR UPDATE SKIP LOCKED (PostgreSQL; on
SQLite the IMMEDIATE transaction serialises claims) and marks them "sending" with its
own claim token, so two runs of the same task never share a row. Rows a dead worker
had claimed go back to pending once their lease (longer than the task's hard time
limit) has expired.
"""

from __future__ import annotations

import datetime
import secrets

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from campaigns.audiences import services as audience_services

from .models import Delivery, EmailSend

# Longer than CELERY_TASK_TIME_LIMIT: a claim this old belongs to a dead worker.
CLAIM_LEASE = datetime.timedelta(minutes=15)


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


def skip_unsubscribed(send: EmailSend, rows: list[Delivery], token: str) -> list[Delivery]:
    """Unsubscribes and suppressions that happened since freezing win over the frozen
    audience: they are checked again for every batch, right before it is sent. Marks
    the others skipped and returns the rows still to send."""
    allowed = audience_services.mailable_ids(send.mailing_list, [r.subscriber_id for r in rows])
    # An erased person's address, come back since (a form, an import, by hand), is
    # known only by its key: never mailed again.
    erased = audience_services.erased_among([r.email for r in rows if r.subscriber_id in allowed])
    allowed -= {r.subscriber_id for r in rows if r.email in erased}
    skipped = [r.pk for r in rows if r.subscriber_id not in allowed]
    if skipped:
        Delivery.objects.filter(pk__in=skipped, claim_token=token).update(
            status=Delivery.Status.SKIPPED, error="unsubscribed or suppressed before sending"
        )
    return [r for r in rows if r.subscriber_id in allowed]


def release_claims(ids: list[int], token: str) -> int:
    """Put rows this claim still holds back to pending; returns how many."""
    if not ids:
        return 0
    return Delivery.objects.filter(
        pk__in=ids, claim_token=token, status=Delivery.Status.SENDING
    ).update(status=Delivery.Status.PENDING, claim_token="", claimed_at=None)


def fail_claimed(delivery_id: int, token: str, error: str) -> None:
    """A row this claim holds will not be sent: failed for good, with the reason."""
    Delivery.objects.filter(pk=delivery_id, claim_token=token).update(
        status=Delivery.Status.FAILED, error=error[:2000]
    )


def release_stale_claims(send_id: int | None = None, now=None, lease=CLAIM_LEASE) -> int:
    """Put rows claimed by a worker that died (lease expired) back to pending."""
    now = now or timezone.now()
    qs = Delivery.objects.filter(status=Delivery.Status.SENDING, claimed_at__lt=now - lease)
    if send_id is not None:
        qs = qs.filter(publication__email_send__pk=send_id)
    return qs.update(status=Delivery.Status.PENDING, claim_token="", claimed_at=None)


def still_sending(send_id: int) -> bool:
    """False once the send is paused, cancelled or finished."""
    return EmailSend.objects.filter(pk=send_id, status=EmailSend.Status.SENDING).exists()


def has_pending(send: EmailSend) -> bool:
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
