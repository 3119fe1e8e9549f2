"""`make drill`: run every fault drill against private PostgreSQL and Redis instances and
a dedicated RabbitMQ vhost, with real worker, beat and web processes, and print a table.

Exit status: 1 if any drill FAILed or ERRORed (or, with DRILL_STRICT=1, is PENDING);
0 otherwise. PENDING means the code under test has not landed yet (named in the note);
it does not fail the run so that CI stays meaningful while the issues it depends on are
still open, and it can never be mistaken for a pass: the table and the last line say so.

Environment: DRILL_ONLY=name,name  DRILL_BROKERS=redis,rabbitmq  DRILL_PG_PORT (5440)
DRILL_REDIS_PORT (6390)  DRILL_BEAT_SECONDS (60)  DRILL_STRICT (0)  DRILL_SEED_URL (a migrated
database to copy instead of migrating from scratch on the first run)  DRILL_START_TIMEOUT
(180 s for a worker to answer its first ping). Sizes (see SIZE_VARS): DRILL_KILL9_RECIPIENTS
(5000)  DRILL_SEND_RECIPIENTS (2000)  DRILL_CLICKS (1500)  DRILL_DISPATCH_PUBLICATIONS (300)
DRILL_BEAT_PUBLICATIONS (120)  DRILL_BLOG_BURST_PUBLICATIONS (200).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from .infra import (
    CACHE_DIR,
    PG_BIN,
    PYTHON,
    ROOT,
    DrillError,
    DrillPostgres,
    DrillRedis,
    RabbitVhost,
    SmtpSink,
    python_env,
)
from .peer import ChannelServer
from .scenarios import DRILLS, Context, Row


def _migration_fingerprint() -> str:
    digest = hashlib.sha256(str(PG_BIN).encode())
    for path in sorted(ROOT.glob("*/migrations/*.py")) + sorted(ROOT.glob("*/*/migrations/*.py")):
        if ".venv" in path.parts:
            continue
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def prepare_database(pg: DrillPostgres, redis: DrillRedis, log_dir: Path) -> str:
    """Start the drill cluster with a migrated `drill` database.

    initdb and migrating Wagtail take minutes on a busy machine, so the first run keeps
    a copy of the freshly migrated cluster (var/drills/, keyed by the migration files);
    later runs copy it into their temporary directory, which takes a second. Either way
    the cluster the drills restart is private to this run and deleted at the end.
    """
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    cached = CACHE_DIR / f"cluster-{_migration_fingerprint()}"
    if cached.is_dir():
        subprocess.run(["cp", "-a", str(cached), str(pg.data)], check=True)
        pg.start()
        return "copied from the cached migrated cluster"
    pg.start()
    pg.psql("CREATE DATABASE drill")
    seed = os.environ.get("DRILL_SEED_URL")
    if seed:
        # Start from an already migrated database (e.g. a test database); `migrate`
        # below then only applies what that one lacks.
        dump = subprocess.run(
            [str(PG_BIN / "pg_dump"), "--no-owner", "-d", seed],
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(
            [
                str(PG_BIN / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(pg.port),
                "-U",
                "postgres",
                "-d",
                "drill",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
            ],
            input=dump,
            check=True,
            capture_output=True,
        )
    env = python_env(
        DATABASE_URL=pg.url("drill"), REDIS_URL=redis.url(1), CELERY_BROKER_URL=redis.url(0)
    )
    with open(log_dir / "migrate.log", "wb") as log:
        subprocess.run(
            [PYTHON, "manage.py", "migrate", "--noinput"],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    pg.stop()
    for old in CACHE_DIR.glob("cluster-*"):
        shutil.rmtree(old, ignore_errors=True)
    tmp = CACHE_DIR / f"tmp-{os.getpid()}"
    subprocess.run(["cp", "-a", str(pg.data), str(tmp)], check=True)
    tmp.rename(cached)
    pg.start()
    return "migrated (and cached for the next run)"


def print_table(rows) -> None:
    headers = [
        "drill",
        "broker",
        "expected",
        "received",
        "duplicates",
        "lost",
        "time to recover",
        "result",
    ]
    body = [
        [
            r.drill,
            r.broker,
            str(r.expected),
            str(r.received),
            str(r.duplicates),
            str(r.lost),
            "-" if r.recover_s is None else f"{r.recover_s:.1f} s",
            r.status,
        ]
        for r in rows
    ]
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(headers)]
    line = "+".join("-" * (w + 2) for w in widths)
    print(line)
    print("|".join(f" {h:<{w}} " for h, w in zip(headers, widths, strict=True)))
    print(line)
    for b in body:
        print("|".join(f" {c:<{w}} " for c, w in zip(b, widths, strict=True)))
    print(line)
    for r in rows:
        notes = [r.note] if r.note else []
        notes += [f"{k}={v}" for k, v in r.extra.items()]
        if notes:
            print(f"  {r.drill} [{r.broker}]: {'; '.join(notes)}")


# How many recipients, clicks or publications each drill uses (defaults in scenarios/:
# 5,000 / 2,000 / 1,500 / 300 / 120 / 200).
SIZE_VARS = {
    "kill9-send": "DRILL_KILL9_RECIPIENTS",
    "redis-restart-send": "DRILL_SEND_RECIPIENTS",
    "redis-restart-clicks": "DRILL_CLICKS",
    "pg-restart-dispatch": "DRILL_DISPATCH_PUBLICATIONS",
    "two-beats": "DRILL_BEAT_PUBLICATIONS",
    "blog-burst-lost-answers": "DRILL_BLOG_BURST_PUBLICATIONS",
}


def _use_broker(app, url: str) -> None:
    """Point the runner's Celery app (pings, enqueues) at `url`.

    Celery resolved broker_read_url/broker_write_url from the first broker URL when
    the app was configured; setting broker_url alone would keep pinging the previous
    broker. And `force_close_all()` on the app's pool leaves a closed pool behind
    ("Acquire on closed pool" on every later ping): forget kombu's pools instead, so
    the next use builds fresh ones."""
    from kombu import pools

    app.conf.broker_url = app.conf.broker_read_url = app.conf.broker_write_url = url
    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


def _terminate(signum, frame):
    # `timeout` or Ctrl-C: unwind through the finally blocks so every process and
    # service this run started is stopped by its own pid.
    raise SystemExit(128 + signum)


@dataclass
class DrillOptions:
    """What to run, from the environment (see the module docstring)."""

    only: list[str]
    brokers: list[str]
    strict: bool
    beat_seconds: float

    @classmethod
    def from_env(cls) -> DrillOptions:
        return cls(
            only=[d for d in os.environ.get("DRILL_ONLY", "").split(",") if d],
            brokers=[b for b in os.environ.get("DRILL_BROKERS", "redis,rabbitmq").split(",") if b],
            strict=os.environ.get("DRILL_STRICT") == "1",
            beat_seconds=float(os.environ.get("DRILL_BEAT_SECONDS", "60")),
        )


class DrillServices:
    """The private services of one run: PostgreSQL, Redis, a RabbitMQ vhost, the SMTP sink
    and the loopback channel. `stop` ends each by its own pid, whatever failed."""

    def __init__(self):
        self.pg = DrillPostgres(int(os.environ.get("DRILL_PG_PORT", "5440")))
        self.redis = DrillRedis(int(os.environ.get("DRILL_REDIS_PORT", "6390")))
        self.rabbit = RabbitVhost()
        self.sink, self.channel = SmtpSink(), ChannelServer()
        self.rabbit_created = False

    def start(self, log_dir: Path, began: float) -> None:
        """Start everything and point this process's settings at it."""
        pg, redis = self.pg, self.redis
        redis.start()
        print(f"drill: PostgreSQL :{pg.port} ({pg.dir}), Redis :{redis.port}, logs in {log_dir}")
        print(
            f"drill: database {prepare_database(pg, redis, log_dir)}"
            f" ({time.monotonic() - began:.0f} s)",
            flush=True,
        )
        self.sink.start()
        self.channel.start()
        os.environ.update(
            python_env(
                DATABASE_URL=pg.url("drill"), REDIS_URL=redis.url(1), CELERY_BROKER_URL=redis.url(0)
            )
        )

    def broker_url(self, broker: str) -> str | None:
        """The URL of `broker` (its vhost created on first use), None if it is unavailable."""
        if broker != "rabbitmq":
            return self.redis.url(0)
        if not self.rabbit.available():
            return None
        self.rabbit.create()
        self.rabbit_created = True
        return self.rabbit.url()

    def stop(self) -> None:
        if self.rabbit_created:
            self.rabbit.delete()
        self.sink.stop()
        self.channel.stop()
        self.redis.destroy()
        self.pg.destroy()


def _rabbit_unavailable(broker: str) -> Row:
    return Row(
        "all",
        broker,
        status="FAIL" if os.environ.get("CI") else "PENDING",
        note="RabbitMQ (127.0.0.1:5672 + rabbitmqctl) not available",
    )


def _drill_kwargs(name: str, beat_seconds: float) -> dict:
    kwargs = {"seconds": beat_seconds} if name == "two-beats" else {}
    if size := os.environ.get(SIZE_VARS[name]):
        kwargs["n"] = int(size)
    return kwargs


def _fail_on_crashes(row: Row, ctx: Context) -> None:
    """A process that died without the drill killing it fails the drill, with its log."""
    if crashed := ctx.unexpected_exits():
        if row.status == "PASS":
            row.status = "FAIL"
        row.note = "; ".join([*filter(None, [row.note]), *crashed])
        for proc in ctx.procs:
            if not proc.alive() and not proc.killed:
                print(f"--- {proc.name} (pid {proc.pid}) log tail:\n{proc.tail(30)}")


def run_drill(name: str, drill, ctx: Context, beat_seconds: float) -> Row:
    """Run one drill; an exception is its ERROR row, and its processes are always stopped."""
    t0 = time.monotonic()
    print(f"drill: {name} [{ctx.broker_name}] ...", flush=True)
    try:
        row = drill(ctx, **_drill_kwargs(name, beat_seconds))
        _fail_on_crashes(row, ctx)
    except Exception as exc:  # noqa: BLE001 - reported as ERROR, run continues
        row = Row(name, ctx.broker_name, status="ERROR", note=f"{type(exc).__name__}: {exc}")
        traceback.print_exc()
        for proc in ctx.procs:
            print(f"--- {proc.name} (pid {proc.pid}) log tail:\n{proc.tail(15)}")
    finally:
        ctx.stop_all()
        # Imported here: Django is set up only once the services are up (see run_all).
        from django.db import connections

        connections.close_all()
    print(
        f"drill: {name} [{ctx.broker_name}] {row.status} in {time.monotonic() - t0:.0f} s",
        flush=True,
    )
    return row


def run_all(services: DrillServices, options: DrillOptions, log_dir: Path, rows: list[Row]):
    """Every selected drill on every selected broker, in DRILLS order. Each row is added to
    `rows` as its drill ends, so an interrupted or failed run still shows what ran."""
    # Imported here, once services.start() has put DATABASE_URL and the drill settings in
    # the environment: Django and the Celery app read them when first imported.
    from config.celery import app

    from . import celery_app  # noqa: F401 - django.setup(), drill adapter registered

    for broker in options.brokers:
        url = services.broker_url(broker)
        if url is None:
            rows.append(_rabbit_unavailable(broker))
            continue
        _use_broker(app, url)
        for name, drill in DRILLS.items():
            if options.only and name not in options.only:
                continue
            ctx = Context(
                services.pg,
                services.redis,
                services.sink,
                services.channel,
                log_dir,
                broker,
                url,
                drill=name,
            )
            rows.append(run_drill(name, drill, ctx, options.beat_seconds))


def summarise(rows: list[Row], options: DrillOptions, began: float, log_dir: Path) -> int:
    """Print the table and the last line; the exit status (see the module docstring)."""
    print()
    print_table(rows)
    failed = [r for r in rows if r.status in ("FAIL", "ERROR")]
    pending = [r for r in rows if r.status == "PENDING"]
    print(
        f"\ndrill: {len(rows) - len(failed) - len(pending)} passed, {len(failed)} failed, "
        f"{len(pending)} pending (code not landed yet) in {time.monotonic() - began:.0f} s;"
        f" logs in {log_dir}"
    )
    if pending and options.strict:
        print("drill: DRILL_STRICT=1 and some drills are pending: failing")
    return 1 if failed or (pending and options.strict) else 0


def main() -> int:
    signal.signal(signal.SIGTERM, _terminate)
    options = DrillOptions.from_env()
    log_dir = Path(tempfile.mkdtemp(prefix="drill-logs-"))
    began = time.monotonic()
    services = DrillServices()
    rows: list[Row] = []
    try:
        services.start(log_dir, began)
        run_all(services, options, log_dir, rows)
    except DrillError as exc:
        rows.append(Row("setup", "-", status="ERROR", note=str(exc)))
    except (SystemExit, KeyboardInterrupt) as exc:
        # `timeout`, Ctrl-C: everything is stopped below; still show what ran.
        rows.append(Row("interrupted", "-", status="ERROR", note=f"{type(exc).__name__}"))
    finally:
        services.stop()
    return summarise(rows, options, began, log_dir)


if __name__ == "__main__":
    sys.exit(main())
