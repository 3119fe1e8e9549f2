"""Workers say they are alive, and which queues they consume, without being asked.

The operations page used to broadcast a ping and wait a second for the answers (Celery's
`inspect().ping()` always waits its whole timeout), on every view. Instead each worker
runs this consumer bootstep: a thread of its own writes one row (`WorkerHeartbeat`) every
OPS_WORKER_HEARTBEAT_SECONDS with the queues its consumer is subscribed to, and deletes
it on a clean shutdown. The page reads the rows: one query, and consumer counts for
brokers that keep none (Redis, the filesystem transport).

The database, not the cache: `make run`'s cache is per process (LocMemCache), and the
database is the one store web, worker and beat share in every setup. A thread, not the
consumer's timer: a slow write (SQLite busy) must never hold up the consumer's loop.

Imported by config/celery.py before Django is set up: Django is imported inside methods.
"""

from __future__ import annotations

import logging
import os
import threading

from celery import bootsteps
from celery.worker.consumer.tasks import Tasks

logger = logging.getLogger(__name__)


class WorkerHeartbeat(bootsteps.StartStopStep):
    """Consumer step: start the heartbeat thread with the consumer, stop it with it."""

    requires = (Tasks,)  # its task consumer says which queues are consumed

    def __init__(self, consumer, **kwargs):
        super().__init__(consumer, **kwargs)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, consumer):
        from django.conf import settings

        interval = float(settings.OPS_WORKER_HEARTBEAT_SECONDS)
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run,
            args=(consumer, interval),
            name="ops-heartbeat",
            daemon=True,
        )
        self._thread.start()

    def stop(self, consumer):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        self._safely(forget, consumer.hostname)

    shutdown = stop

    def _run(self, consumer, interval: float):
        while True:
            self._safely(beat, consumer.hostname, consumed_queues(consumer))
            if self._stop.wait(interval):
                return

    @staticmethod
    def _safely(fn, *args):
        from django.db import connection

        try:
            fn(*args)
        except Exception:  # noqa: BLE001 - a missed beat only ages the row; the worker goes on
            logger.warning("ops heartbeat: %s failed", fn.__name__, exc_info=True)
        finally:
            connection.close()  # this thread's own connection, never left open


def consumed_queues(consumer) -> list[str]:
    task_consumer = getattr(consumer, "task_consumer", None)
    queues = getattr(task_consumer, "queues", None) or []
    return sorted({q.name for q in queues})


def beat(hostname: str, queues: list[str]) -> None:
    from django.utils import timezone

    from .models import WorkerHeartbeat as Row

    now = timezone.now()
    updated = Row.objects.filter(hostname=hostname).update(
        queues=queues, seen_at=now, pid=os.getpid()
    )
    if not updated:
        Row.objects.update_or_create(
            hostname=hostname,
            defaults={"queues": queues, "seen_at": now, "started_at": now, "pid": os.getpid()},
        )


def forget(hostname: str) -> None:
    from .models import WorkerHeartbeat as Row

    Row.objects.filter(hostname=hostname).delete()


def install(app) -> None:
    """Add the step to `app`'s worker consumers (config/celery.py)."""
    app.steps["consumer"].add(WorkerHeartbeat)
