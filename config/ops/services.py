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
from dataclasses import asdict, dataclass, field

from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
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

WORKERS_SEEN_KEY = "ops:workers-seen"
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


@dataclass
class QueueDepth:
    name: str
    messages: int | None
    consumers: int | None
    error: str = ""


def measure_queue_depths(names=queues.ALL_QUEUES) -> list[QueueDepth]:
    """Messages waiting per queue, read with a passive declare (works for Redis, RabbitMQ
    and the filesystem broker alike; on Redis the count includes priority sub-lists)."""
    depths = []
    try:
        with _broker_connection() as conn:
            for name in names:
                channel = conn.channel()
                try:
                    _name, messages, consumers = channel.queue_declare(queue=name, passive=True)
                    depths.append(QueueDepth(name, messages, consumers))
                except Exception as exc:  # noqa: BLE001 - e.g. RabbitMQ 404: never declared
                    depths.append(QueueDepth(name, 0, 0, _redact(str(exc)) or "absent"))
                finally:
                    try:
                        channel.close()
                    except Exception:  # noqa: BLE001,S110 - a 404 already closed it
                        pass
    except Exception as exc:  # noqa: BLE001
        return [QueueDepth(n, None, None, _redact(f"{type(exc).__name__}: {exc}")) for n in names]
    return depths


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


def recent_workers(ping_timeout: float = 1.0, now=None) -> tuple[list[dict], str]:
    """Workers that answered a broadcast ping now, merged with those seen in the last
    WORKERS_SEEN_WINDOW (kept in the cache), newest first. Returns (workers, error)."""
    from config.celery import app

    now = now or timezone.now()
    seen: dict[str, str] = cache.get(WORKERS_SEEN_KEY) or {}
    error = ""
    answered: set[str] = set()
    try:
        # Our own connection, not the app's pool (built once, for the URL of its first
        # use): the broker in use now, and a single connect attempt when it is down.
        with _broker_connection() as conn:
            replies = app.control.inspect(timeout=ping_timeout, connection=conn).ping() or {}
        answered = set(replies)
        for hostname in answered:
            seen[hostname] = now.isoformat()
    except Exception as exc:  # noqa: BLE001
        error = _redact(f"{type(exc).__name__}: {exc}")
    cutoff = now - WORKERS_SEEN_WINDOW
    seen = {h: ts for h, ts in seen.items() if datetime.datetime.fromisoformat(ts) >= cutoff}
    cache.set(WORKERS_SEEN_KEY, seen, timeout=int(WORKERS_SEEN_WINDOW.total_seconds()) * 2)
    workers = [
        {
            "hostname": h,
            "last_seen": datetime.datetime.fromisoformat(ts),
            "answering": h in answered,
        }
        for h, ts in seen.items()
    ]
    workers.sort(key=lambda w: w["last_seen"], reverse=True)
    return workers, error


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
    now = now or timezone.now()
    oldest = oldest_due_unclaimed_publication(now)
    workers, workers_error = recent_workers(now=now)
    failures, failure_count = recent_failures(now=now)
    return {
        "now": now,
        "queues": measure_queue_depths(),
        "oldest_due": oldest,
        "oldest_due_lateness": (now - oldest.due_at) if oldest else None,
        "workers": workers,
        "workers_error": workers_error,
        "failures": failures,
        "failure_count": failure_count,
        "broker": broker_location(),
    }
