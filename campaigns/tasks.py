"""Celery tasks: thin wrappers that take primary keys and call campaigns.services, and
the receiver that hands claimed publications to workers.

The publish task relies on the project-wide defaults (settings CELERY_TASK_ACKS_LATE and
CELERY_TASK_REJECT_ON_WORKER_LOST) and repeats them here so the guarantee does not hang
on a setting: the message is acknowledged only after the task ran, and a worker that
dies mid-task hands the message back. Redelivery is harmless because the service only
acts on a row that is still "queued".
"""

from celery import shared_task

from . import services
from .signals import publications_due


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


def enqueue_publish_tasks(sender, publication_ids, **kwargs) -> None:
    """Hand claimed rows to workers, one publish task each. Runs after the claim's
    commit (the services send `publications_due` from on_commit). If the broker is down
    part way, the rest stay queued and the sweeper hands them over again."""
    for pk in publication_ids:
        publish_publication_task.delay(pk)


# Connected at import; CampaignsConfig.ready imports this module.
publications_due.connect(enqueue_publish_tasks, dispatch_uid="campaigns_enqueue_publish_tasks")
