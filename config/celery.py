"""The Celery app. Task defaults follow DESIGN.md: late acks, reject on worker lost,
prefetch 1, hard and soft time limits (all set in settings as CELERY_*)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")


def _finish_closing_redis_channel_after_lost_poll() -> None:
    """Keep a worker alive when its Redis broker restarts (kombu 5.7, Celery 5.7).

    On a lost connection the consumer first `collect()`s the connection (which closes
    the default channel, then detaches the transport), then `close()`s it. If the
    channel was waiting in BRPOP, kombu's `Channel.close` re-reads that reply first; on
    a dead socket this raises and the channel stays open, so the second close reaches
    `restore_unacked` with a detached transport and the worker dies with
    "Unrecoverable error: AttributeError: 'NoneType' object has no attribute
    'hostname'" (found by `make drill`, redis-restart-clicks). Here a failed read of
    the outstanding reply no longer aborts the close. Unacked messages stay in Redis's
    unacked hash and come back after the visibility timeout, as kombu intends.
    """
    try:
        from kombu.transport import redis as kombu_redis
    except ImportError:  # the redis extra is not installed
        return
    original = kombu_redis.Channel.close
    if getattr(original, "finishes_after_lost_poll", False):
        return

    def close(self):
        if self._in_poll and not self.closed:
            self._closing = True
            try:
                self._brpop_read()
            except Exception:  # noqa: BLE001 - connection lost: close anyway
                pass
        return original(self)

    close.finishes_after_lost_poll = True
    kombu_redis.Channel.close = close


_finish_closing_redis_channel_after_lost_poll()

app = Celery("campaignhub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The one beat schedule, defined in code. Entries are added by the apps that own them
# (see each app's AppConfig.ready), so there is exactly one place per periodic job.
app.conf.beat_schedule = {}

# campaigns: the dispatcher claims due publications every second (DESIGN.md,
# "Scheduling"); a tick that waited longer than a few seconds in the queue is dropped,
# the next one does the same work. The sweeper recovers rows a crash left behind.
app.conf.beat_schedule["campaigns-dispatch"] = {
    "task": "campaigns.dispatch_due_publications",
    "schedule": 1.0,
    "options": {"expires": 5},
}
app.conf.beat_schedule["campaigns-sweep"] = {
    "task": "campaigns.sweep_stuck_publications",
    "schedule": 60.0,
    "options": {"expires": 50},
}
