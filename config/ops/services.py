"""Health checks and the numbers on the admin operations page.

Every check returns a `Check` and never raises: /readyz must answer with a clear body
even when PostgreSQL or the broker is down, and the ops page must render with whatever
it could measure.
"""

from __future__ import annotations

import datetime
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone
from django.utils.translation import gettext as _

from . import queues

# Seconds a readiness probe may spend on one dependency. Kept short: a load balancer
# polls /readyz every few seconds and a hung probe is as bad as a failed one.
CHECK_TIMEOUT = 2.0
# The user part may be empty: Redis URLs carry only a password (redis://:secret@host).
_URL_CREDENTIALS = re.compile(r"(\w+://)([^:/@\s]*):([^@\s]+)@")
# Once every migration is seen applied in a process it stays so (its code cannot change),
# so later probes skip the migration graph. Public: a test that unapplies one resets it.
migrations_known_applied = False

WORKERS_SEEN_WINDOW = datetime.timedelta(minutes=10)


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""
    ms: float = 0.0


@dataclass
class Readiness:
    ok: bool
    checks: list[Check] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "status": "ok" if self.ok else "fail",
            "checks": {
                c.name: {k: v for k, v in asdict(c).items() if k != "name"} for c in self.checks
            },
        }


def _redact(message: str) -> str:
    """Errors may quote a broker or database URL; never echo a password."""
    return _URL_CREDENTIALS.sub(r"\1\2:***@", message)


def _timed(name: str, probe) -> Check:
    started = time.monotonic()
    try:
        detail = probe() or "ok"
        ok = True
    except Exception as exc:  # noqa: BLE001 - any failure is "not ready", with its reason
        detail = _redact(f"{type(exc).__name__}: {exc}".strip())
        ok = False
    return Check(name, ok, detail, round((time.monotonic() - started) * 1000, 1))


def check_database(alias: str = DEFAULT_DB_ALIAS) -> Check:
    def probe():
        conn = connections[alias]
        # A connection that died under us (PostgreSQL restarted) is replaced at the
        # start of the next request (CONN_HEALTH_CHECKS); this probe only asks.
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return f"{conn.vendor} ok"

    check = _timed("database", probe)
    if not check.ok and not connections[alias].in_atomic_block:
        # Leave no broken connection behind for the next request in this thread.
        connections[alias].close()
    return check


def check_migrations(alias: str = DEFAULT_DB_ALIAS) -> Check:
    def probe():
        global migrations_known_applied
        if migrations_known_applied:
            return "all applied"
        from django.db.migrations.executor import MigrationExecutor

        loader = MigrationExecutor(connections[alias]).loader
        # Every node, not a plan to the leaves: a plan is empty when each app's last
        # migration is recorded, even if an earlier one is not.
        unapplied = sorted(
            key for key in loader.graph.nodes if key not in loader.applied_migrations
        )
        if unapplied:
            names = ", ".join(f"{app}.{name}" for app, name in unapplied[:5])
            more = f" (+{len(unapplied) - 5} more)" if len(unapplied) > 5 else ""
            raise RuntimeError(
                _("%(count)d unapplied migration(s): %(names)s%(more)s")
                % {"count": len(unapplied), "names": names, "more": more}
            )
        migrations_known_applied = True
        return "all applied"

    return _timed("migrations", probe)


def _broker_connection():
    """A new connection to the broker the Celery app publishes to, resolved now.

    Always ask the app (never settings.CELERY_BROKER_URL): Celery prefers the
    CELERY_BROKER_URL / CELERY_BROKER_WRITE_URL environment variables over its
    configuration, so the app's answer is the broker tasks really go to. A fresh
    connection rather than the app's pool, whose connections keep the URL they were
    created with. The caller closes it (use it as a context manager).
    """
    from config.celery import app

    conn = app.connection_for_write()
    try:
        # max_retries=0: one attempt, no kombu back-off loop inside a probe or a page.
        conn.ensure_connection(max_retries=0, timeout=CHECK_TIMEOUT)
    except Exception:
        conn.release()
        raise
    return conn


def broker_location() -> str:
    """The broker URL the Celery app uses, for display, with any password masked."""
    from config.celery import app

    return _redact(str(app.conf.broker_write_url))


def check_broker() -> Check:
    def probe():
        with _broker_connection() as conn:
            return f"{conn.transport_cls} ok"

    return _timed("broker", probe)


def check_cache() -> Check:
    def probe():
        # The backend itself, looked up now (follows CACHES overrides); the module-level
        # `cache` is a ConnectionProxy, whose class name says nothing.
        backend = caches[DEFAULT_CACHE_ALIAS]
        key = f"ops:readyz:{uuid.uuid4().hex}"
        backend.set(key, "1", timeout=10)
        if backend.get(key) != "1":
            raise RuntimeError(_("cache did not return the value just written"))
        backend.delete(key)
        return f"{type(backend).__name__} ok"

    return _timed("cache", probe)


def check_readiness() -> Readiness:
    """Database, migrations, broker and cache. Migrations are only checked when the
    database answered (their error would only repeat the database's)."""
    checks = [check_database()]
    if checks[0].ok:
        checks.append(check_migrations())
    else:
        checks.append(Check("migrations", False, _("not checked: database unreachable")))
    checks += [check_broker(), check_cache()]
    return Readiness(all(c.ok for c in checks), checks)


# --- Admin operations page ----------------------------------------------------------------
# Everything here is read, never waited for: the page answers in well under 300 ms
# (bench/ops.py) whatever the workers do. Workers are not pinged (a broadcast waits its
# whole timeout); they write heartbeats (config/ops/heartbeat.py).

# Brokers whose passive queue_declare answers with the real number of consumers. Redis
# and the filesystem transport are emulated by kombu and always answer 0.
BROKERS_COUNTING_CONSUMERS = frozenset({"amqp"})
# A worker whose heartbeat is older than this many intervals is taken for dead.
LIVE_AFTER_INTERVALS = 3


@dataclass
class QueueDepth:
    name: str
    messages: int | None
    consumers: int | None
    error: str = ""
    # Where `consumers` comes from: "broker" (RabbitMQ counts its consumers) or
    # "heartbeats" (live workers that said they consume this queue).
    consumers_from: str = ""


@dataclass
class WorkerSeen:
    hostname: str
    queues: list[str]
    last_seen: datetime.datetime
    started: datetime.datetime
    live: bool
    age_seconds: int = 0


def heartbeat_cutoff(now=None) -> datetime.datetime:
    from django.conf import settings

    now = now or timezone.now()
    return now - datetime.timedelta(
        seconds=settings.OPS_WORKER_HEARTBEAT_SECONDS * LIVE_AFTER_INTERVALS
    )


def workers_seen(now=None) -> list[WorkerSeen]:
    """Workers whose heartbeat row is younger than WORKERS_SEEN_WINDOW, newest first;
    `live` while it is younger than LIVE_AFTER_INTERVALS heartbeats. One query."""
    from .models import WorkerHeartbeat

    now = now or timezone.now()
    cutoff = heartbeat_cutoff(now)
    rows = WorkerHeartbeat.objects.filter(seen_at__gte=now - WORKERS_SEEN_WINDOW).order_by(
        "-seen_at", "hostname"
    )
    return [
        WorkerSeen(
            r.hostname,
            list(r.queues or []),
            r.seen_at,
            r.started_at,
            r.seen_at >= cutoff,
            max(0, int((now - r.seen_at).total_seconds())),
        )
        for r in rows
    ]


def consumers_by_heartbeat(workers: list[WorkerSeen]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for worker in workers:
        if worker.live:
            for name in worker.queues:
                counts[name] = counts.get(name, 0) + 1
    return counts


def measure_queue_depths(names=queues.ALL_QUEUES, workers=None) -> list[QueueDepth]:
    """Messages waiting per queue, read with a passive declare (Redis, RabbitMQ and the
    filesystem broker alike; on Redis the count includes priority sub-lists), and the
    workers consuming each: RabbitMQ's own count, else live heartbeats (`workers`, read
    here when not given)."""
    return with_consumers(probe_broker(names), workers)


def probe_broker(names=queues.ALL_QUEUES) -> list[QueueDepth]:
    """The broker's answers only (no database): one connection, one channel for as long
    as it lasts (a RabbitMQ 404 closes it; kombu's emulated channels stay open)."""
    try:
        with _broker_connection() as conn:
            from_broker = conn.transport.driver_type in BROKERS_COUNTING_CONSUMERS
            depths, channel = [], None
            try:
                for name in names:
                    channel = channel or conn.channel()
                    depth, channel_usable = _declare_passive(channel, name, virtual=not from_broker)
                    depth.consumers_from = "broker" if from_broker else "heartbeats"
                    depths.append(depth)
                    if not channel_usable:
                        channel = None
            finally:
                _close_quietly(channel)
            return depths
    except Exception as exc:  # noqa: BLE001
        return [QueueDepth(n, None, None, _redact(f"{type(exc).__name__}: {exc}")) for n in names]


def with_consumers(depths: list[QueueDepth], workers=None) -> list[QueueDepth]:
    """Fill in the consumer counts the broker does not keep, from live heartbeats."""
    if any(d.consumers_from == "heartbeats" for d in depths):
        by_heartbeat = consumers_by_heartbeat(workers if workers is not None else workers_seen())
        for depth in depths:
            if depth.consumers_from == "heartbeats":
                depth.consumers = by_heartbeat.get(depth.name, 0)
    return depths


def _declare_passive(channel, name: str, *, virtual: bool) -> tuple[QueueDepth, bool]:
    """(the queue's depth, whether `channel` can still be used)."""
    try:
        _name, messages, consumers = channel.queue_declare(queue=name, passive=True)
        return QueueDepth(name, messages, consumers), True
    except Exception as exc:  # noqa: BLE001 - RabbitMQ 404: never declared
        if str(getattr(exc, "reply_code", "")) == "404":
            if virtual:
                # kombu's Redis and filesystem queues exist only while they hold messages.
                return QueueDepth(name, 0, 0), True
            return QueueDepth(name, 0, 0, _("not declared yet: no worker has consumed it")), False
        return QueueDepth(name, None, None, _redact(str(exc)) or _("absent")), False


def _close_quietly(channel) -> None:
    if channel is None:
        return
    try:
        channel.close()
    except Exception:  # noqa: BLE001,S110 - a 404 already closed it
        pass


def oldest_due_unclaimed_publication(now=None):
    """The claimable publication (scheduled, or unknown and due for a lookup) whose due
    time passed longest ago, or None. More than a few seconds late means the dispatcher
    (beat) or the database is not keeping up."""
    from campaigns.models import Publication

    now = now or timezone.now()
    return (
        Publication.objects.filter(
            status__in=[Publication.Status.SCHEDULED, Publication.Status.UNKNOWN],
            due_at__lte=now,
        )
        .select_related("campaign", "channel_account")
        .order_by("due_at", "pk")
        .first()
    )


def recent_failures(hours: int = 24, limit: int = 50, now=None):
    """Publication transitions to failed or unknown in the last `hours`, newest first,
    and the total count."""
    from campaigns.models import Publication, PublicationEvent

    now = now or timezone.now()
    events = PublicationEvent.objects.filter(
        to_status__in=[Publication.Status.FAILED, Publication.Status.UNKNOWN],
        created_at__gte=now - datetime.timedelta(hours=hours),
    )
    total = events.count()
    rows = events.select_related("publication", "publication__campaign").order_by(
        "-created_at", "-pk"
    )[:limit]
    return list(rows), total


def operations_snapshot(now=None) -> dict:
    from django.conf import settings

    now = now or timezone.now()
    # The broker's round trips overlap the database's: the probe runs in a thread of its
    # own (it touches no database) while the queries below run here.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ops-probe") as pool:
        probe = pool.submit(probe_broker)
        oldest = oldest_due_unclaimed_publication(now)
        workers = workers_seen(now)
        failures, failure_count = recent_failures(now=now)
        depths = with_consumers(probe.result(), workers)
    return {
        "now": now,
        "queues": depths,
        "oldest_due": oldest,
        "oldest_due_lateness": (now - oldest.due_at) if oldest else None,
        "workers": workers,
        "live_workers": sum(w.live for w in workers),
        "heartbeat_seconds": settings.OPS_WORKER_HEARTBEAT_SECONDS,
        "failures": failures,
        "failure_count": failure_count,
        "broker": broker_location(),
    }
