"""Celery tasks: thin wrappers that take primary keys and call campaigns.services, and
the receiver that hands claimed publications to workers.

The publish task relies on the project-wide defaults (settings CELERY_TASK_ACKS_LATE and
CELERY_TASK_REJECT_ON_WORKER_LOST) and repeats them here so the guarantee does not hang
on a setting: the message is acknowledged only after the task ran, and a worker that
dies mid-task hands the message back. Redelivery is harmless because the service only
acts on a row that is still "queued".
"""

import logging

from celery import shared_task
from django.conf import settings

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


# --- A quiet console ---------------------------------------------------------------------
# Celery logs three INFO lines per run of every task: beat's "Sending due task", the
# worker's "received" and "succeeded". For ticks that run every few seconds (the
# dispatcher every second) that buried everything else (issue 16: 5,006 of 11,433 lines
# in 28 minutes). The ticks log themselves when they do something; failures are
# WARNING and above and always pass.

CELERY_ROUTINE_LOGGERS = ("celery.beat", "celery.worker.strategy", "celery.app.trace")
# A task on the beat schedule at least this often is a tick, not an event (the minute
# sweeps too: four routine lines a minute still bury what matters).
TICK_SECONDS = 60


def frequent_task_names(schedule=None) -> frozenset[str]:
    """Task names the beat schedule runs once a minute or more often."""
    schedule = settings.CELERY_BEAT_SCHEDULE if schedule is None else schedule
    names = set()
    for entry in schedule.values():
        every = entry.get("schedule")
        seconds = every.total_seconds() if hasattr(every, "total_seconds") else every
        if isinstance(seconds, int | float) and seconds <= TICK_SECONDS:
            names.add(entry["task"])
    return frozenset(names)


class QuietTicks(logging.Filter):
    """Drops Celery's routine INFO/DEBUG lines about the frequent ticks."""

    def __init__(self, task_names):
        super().__init__()
        self.task_names = frozenset(task_names)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        args = record.args
        if isinstance(args, dict):  # the worker's received / succeeded lines
            named = {args.get("name")}
        else:  # beat: (entry name, task name)
            named = {a for a in args or () if isinstance(a, str)}
        return not (named & self.task_names)


def quiet_celery_ticks() -> None:
    """Install QuietTicks on Celery's loggers once (this module is imported by
    CampaignsConfig.ready in every process: web, worker and beat)."""
    names = frequent_task_names()
    for name in CELERY_ROUTINE_LOGGERS:
        log = logging.getLogger(name)
        if not any(isinstance(f, QuietTicks) for f in log.filters):
            log.addFilter(QuietTicks(names))


quiet_celery_ticks()
