"""Thin Celery tasks for the fan-out: they take ids and call channels.email.services."""

from celery import shared_task
from django.db import transaction

from . import services
from .config import SMTPConfig
from .models import EmailSend


@shared_task(acks_late=True, reject_on_worker_lost=True, bind=True, max_retries=None)
def send_email_batch(self, send_id: int):
    """Send one batch, then chain the next one. Running twice is harmless: each run
    claims its own rows."""
    try:
        result = services.send_next_batch(send_id)
    except services.TransientSendError as exc:
        raise self.retry(
            exc=exc, countdown=min(300, 10 * 2 ** min(self.request.retries, 5))
        ) from exc
    except EmailSend.DoesNotExist:
        return
    if result.more:
        send_email_batch.delay(send_id)


@shared_task(acks_late=True)
def pump_email_sends():
    """Periodic safety net: restart sends whose task chain died, reclaim dead leases."""
    for send_id in services.active_send_ids_needing_workers():
        send_email_batch.delay(send_id)


def start_workers(sender, send_id, **kwargs):
    """Receiver of email_send_started: one batch task per allowed parallel connection."""
    send = EmailSend.objects.select_related("publication__channel_account").get(pk=send_id)
    concurrency = SMTPConfig.from_account(send.publication.channel_account).concurrency
    for _ in range(concurrency):
        transaction.on_commit(lambda: send_email_batch.delay(send_id))


services.email_send_started.connect(start_workers, dispatch_uid="email_start_workers")
