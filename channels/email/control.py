"""A marketer's and the pump's controls over a running send: pause, resume, cancel,
progress, and restarting sends whose task chain died."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from campaigns.notifications import notify_send_finished

from .claims import finish_if_done, release_stale_claims
from .models import Delivery, EmailSend
from .signals import email_send_started


def pause_email_send(send: EmailSend, reason: str = EmailSend.PauseReason.PERSON) -> bool:
    """Stop sending after the messages in flight; nothing is lost. Idempotent."""
    return bool(
        EmailSend.objects.filter(pk=send.pk, status=EmailSend.Status.SENDING).update(
            status=EmailSend.Status.PAUSED, pause_reason=reason
        )
    )


def resume_email_send(send: EmailSend) -> bool:
    """Continue a paused send with the rows not yet sent. Idempotent."""
    changed = EmailSend.objects.filter(pk=send.pk, status=EmailSend.Status.PAUSED).update(
        status=EmailSend.Status.SENDING, pause_reason=""
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
        return skip_unsent_rows(send)


def control_email_send(send: EmailSend, action: str) -> tuple[bool, str]:
    """A person's pause, resume or cancel, answered in words: (whether anything changed,
    what happened and what waits). Raises ValueError for any other action."""
    if action == "pause":
        if pause_email_send(send):
            n = _open_rows(send)
            return True, ngettext(
                "Sending paused: %(n)s message waits. Resume to continue.",
                "Sending paused: %(n)s messages wait. Resume to continue.",
                n,
            ) % {"n": n}
        return False, _("Nothing to pause: the send is %(status)s.") % {"status": _status(send)}
    if action == "resume":
        if resume_email_send(send):
            n = _open_rows(send)
            return True, ngettext(
                "Sending resumed: %(n)s message to go.",
                "Sending resumed: %(n)s messages to go.",
                n,
            ) % {"n": n}
        return False, _("Nothing to resume: the send is %(status)s.") % {"status": _status(send)}
    if action == "cancel":
        was_open = EmailSend.objects.filter(
            pk=send.pk, status__in=[EmailSend.Status.SENDING, EmailSend.Status.PAUSED]
        ).exists()
        if not was_open:
            return False, _("Nothing to cancel: the send is %(status)s.") % {
                "status": _status(send)
            }
        n = cancel_email_send(send)
        return True, ngettext(
            "Sending cancelled: %(n)s message will not be sent.",
            "Sending cancelled: %(n)s messages will not be sent.",
            n,
        ) % {"n": n}
    raise ValueError(_("Unknown action “%(action)s”.") % {"action": action})


def _open_rows(send: EmailSend) -> int:
    return Delivery.objects.filter(
        publication_id=send.publication_id,
        status__in=[Delivery.Status.PENDING, Delivery.Status.SENDING],
    ).count()


def _status(send: EmailSend) -> str:
    send.refresh_from_db(fields=["status"])
    return send.get_status_display().lower()


def skip_unsent_rows(send: EmailSend) -> int:
    """A cancelled send's pending rows become skipped. Run again after a batch that was
    running at the cancel has put its unsent rows back."""
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
            finish_and_announce(send)
            continue
        busy = rows.filter(status=Delivery.Status.SENDING).exists()
        recent = rows.filter(sent_at__gte=now - idle_for).exists()
        if not busy and not recent:
            ids.append(send.pk)
    return ids


def send_counts(send: EmailSend) -> dict[str, int]:
    """How many of the send's rows are in each Delivery status."""
    counts = {s: 0 for s in Delivery.Status.values}
    for row in (
        Delivery.objects.filter(publication_id=send.publication_id)
        .values("status")
        .annotate(n=Count("pk"))
    ):
        counts[row["status"]] = row["n"]
    return counts


def campaign_sends(campaign, statuses) -> list[EmailSend]:
    """The campaign's email and e-zine sends in `statuses`."""
    return list(EmailSend.objects.filter(publication__campaign=campaign, status__in=statuses))


def pause_campaign_sends(campaign) -> int:
    """Pause every running send of the campaign (before its next batch). Returns how many."""
    return sum(
        pause_email_send(send, EmailSend.PauseReason.CAMPAIGN)
        for send in campaign_sends(campaign, [EmailSend.Status.SENDING])
    )


def resume_campaign_sends(campaign) -> int:
    """Resume the sends the campaign's pause paused; a send a person paused stays paused."""
    return sum(
        resume_email_send(send)
        for send in campaign_sends(campaign, [EmailSend.Status.PAUSED])
        if send.pause_reason == EmailSend.PauseReason.CAMPAIGN
    )


def cancel_campaign_sends(campaign) -> int:
    """Cancel every running or paused send of the campaign. Returns how many."""
    sends = campaign_sends(campaign, [EmailSend.Status.SENDING, EmailSend.Status.PAUSED])
    for send in sends:
        cancel_email_send(send)
    return len(sends)


def finish_and_announce(send: EmailSend) -> bool:
    """Mark the send finished when nothing is left, and tell the campaign's owner with
    its figures. finish_if_done is a conditional update, so of all the batches racing to
    the end exactly one sees True and the owner hears once."""
    if not finish_if_done(send):
        return False
    counts = send_counts(send)
    notify_send_finished(
        send.publication,
        send.subject,
        sent=counts[Delivery.Status.SENT],
        failed=counts[Delivery.Status.FAILED],
        skipped=counts[Delivery.Status.SKIPPED],
    )
    return True
