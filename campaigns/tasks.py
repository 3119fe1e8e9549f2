"""Celery tasks: thin wrappers that take primary keys and call campaigns.services.

The publish task relies on the project-wide defaults (settings CELERY_TASK_ACKS_LATE and
CELERY_TASK_REJECT_ON_WORKER_LOST) and repeats them here so the guarantee does not hang
on a setting: the message is acknowledged only after the task ran, and a worker that
dies mid-task hands the message back. Redelivery is harmless because the service only
acts on a row that is still "queued".
"""

from celery import shared_task

from . import services


@shared_task(
    name="campaigns.publish_publication",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def publish_publication_task(publication_id: int) -> str:
    return services.publish_publication(publication_id)


@shared_task(name="campaigns.dispatch_due_publications", ignore_result=True)
def dispatch_due_publications_task() -> int:
    """Beat runs this every second. Safe to overlap: claims are exclusive."""
    return services.dispatch_due_publications()


@shared_task(name="campaigns.sweep_stuck_publications", ignore_result=True)
def sweep_stuck_publications_task() -> dict:
    return services.sweep_stuck_publications()
