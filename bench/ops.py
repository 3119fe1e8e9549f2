"""Benchmark: the admin operations page, now (worker heartbeats) vs the broadcast ping it
used before, measured in the same run on the same database, broker and worker.

    python -m bench.ops [--quick] [--renders N] [--brokers redis,amqp]

Its own PostgreSQL database `bench_ops` (created and migrated if missing) holding 2,000
publications (200 of them failed in the last day). For each broker (Redis at
BENCH_REDIS_URL, RabbitMQ at BENCH_AMQP_URL; one that does not answer is left out) a
real Celery worker process consumes the four queues (publishing, sending, tracking,
celery); then the page is rendered N times (Django test client, signed in as a
superuser, HTML rendered: 60, --quick 15; the baseline a fifth as many) with:
- ours: `config.ops.services.operations_snapshot` (heartbeat rows, passive declares);
- baseline: the snapshot the page took before issue 17, kept here as
  `baseline_snapshot`: the same reads plus a broadcast `inspect().ping()` with its 1 s
  timeout (Celery waits out the whole timeout), consumers as the broker's passive
  declare answers them (0 on Redis).
Reported: p50/p95 render time of each, and the consumer count each shows for a queue one
worker consumes (the truth is 1).
"""

from __future__ import annotations

import argparse
import datetime
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench._common import figure, percentile, print_figures, write_results

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "bench_ops"
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DB_URL = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + DB_NAME
BROKERS = {
    "redis": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"),
    "amqp": os.environ.get("BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//"),
}
PUBLICATIONS = 2_000
FAILED = 200
TARGET_MS = 300


def env(broker_url: str) -> dict:
    e = dict(os.environ)
    e.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.dev",
            "DJANGO_DEBUG": "false",
            "DATABASE_URL": DB_URL,
            "CELERY_BROKER_URL": broker_url,
            "REDIS_URL": "",
            "CELERY_SPLIT_QUEUES": "true",
            "OPS_WORKER_HEARTBEAT_SECONDS": "2",
            "LOG_LEVEL": "WARNING",
            "DATABASE_CONN_MAX_AGE": "600",
            "PYTHONPATH": str(ROOT),
        }
    )
    e.pop("CELERY_BROKER_WRITE_URL", None)
    e.pop("CELERY_BROKER_READ_URL", None)
    return e


def ensure_database():
    """Created here; migrated by each broker's child, in the process that measures (a
    `migrate` with nothing to do costs no second Django start-up there)."""
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone():
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def broker_answers(url: str) -> bool:
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=0, timeout=2)
        return True
    except Exception:  # noqa: BLE001 - left out of the run, and said so
        return False


def setup_django(broker_url: str):
    os.environ.update(env(broker_url))
    import django

    django.setup()


def seed():
    """2,000 publications, 200 failed within the day (the failures table is full)."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from campaigns.models import Campaign, Publication, PublicationEvent
    from channels.models import ChannelAccount

    User = get_user_model()
    admin, _ = User.objects.get_or_create(
        username="bench-ops", defaults={"is_superuser": True, "is_staff": True}
    )
    if Publication.objects.filter(campaign__slug="bench-ops").count() >= PUBLICATIONS:
        return admin
    today = timezone.localdate()
    campaign, _ = Campaign.objects.get_or_create(
        slug="bench-ops",
        defaults={
            "name": "Bench ops",
            "owner": admin,
            "start_date": today,
            "end_date": today + datetime.timedelta(days=30),
        },
    )
    account, _ = ChannelAccount.objects.get_or_create(
        name="Bench ops hub", defaults={"kind": "blog/wagtail_site"}
    )
    from wagtail.models import Page

    page = Page.objects.filter(depth=2).first()
    now = timezone.now()
    pubs = Publication.objects.bulk_create(
        [
            Publication(
                campaign=campaign,
                channel_account=account,
                page=page,
                publish_at=now + datetime.timedelta(hours=1 + i),
            )
            for i in range(PUBLICATIONS)
        ]
    )
    PublicationEvent.objects.bulk_create(
        [
            PublicationEvent(
                publication=p, from_status="publishing", to_status="failed", reason="HTTP 503"
            )
            for p in pubs[:FAILED]
        ]
    )
    return admin


def start_worker(broker_url: str) -> subprocess.Popen:
    from config.ops.queues import ALL_QUEUES  # plain constants: no Django needed yet

    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            ",".join(ALL_QUEUES),
            "--concurrency",
            "1",
            "--pool",
            "solo",
            "-n",
            "bench-ops@%h",
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env=env(broker_url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def wait_for_heartbeat(seconds=60.0) -> bool:
    from config.ops.models import WorkerHeartbeat

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if WorkerHeartbeat.objects.filter(hostname__startswith="bench-ops@").exists():
            return True
        time.sleep(0.2)
    return False


def baseline_snapshot(now=None) -> dict:
    """The page's snapshot before issue 17: a broadcast ping waited out for 1 s, and the
    broker's passive-declare consumer counts (Redis: always 0)."""
    from django.utils import timezone

    from config.celery import app
    from config.ops import services

    now = now or timezone.now()
    oldest = services.oldest_due_unclaimed_publication(now)
    replies = {}
    error = ""
    try:
        with services._broker_connection() as conn:
            replies = app.control.inspect(timeout=1.0, connection=conn).ping() or {}
    except Exception as exc:  # noqa: BLE001
        error = str(exc)
    workers = [services.WorkerSeen(h, [], now, now, True) for h in replies]
    failures, failure_count = services.recent_failures(now=now)
    depths = []
    with services._broker_connection() as conn:
        for name in services.queues.ALL_QUEUES:
            channel = conn.channel()
            try:
                _n, messages, consumers = channel.queue_declare(queue=name, passive=True)
                depths.append(services.QueueDepth(name, messages, consumers))
            except Exception as exc:  # noqa: BLE001
                depths.append(services.QueueDepth(name, 0, 0, str(exc)))
            finally:
                try:
                    channel.close()
                except Exception:  # noqa: BLE001,S110
                    pass
    return {
        "now": now,
        "queues": depths,
        "oldest_due": oldest,
        "oldest_due_lateness": (now - oldest.due_at) if oldest else None,
        "workers": workers,
        "workers_error": error,
        "live_workers": len(workers),
        "heartbeat_seconds": 0,
        "failures": failures,
        "failure_count": failure_count,
        "broker": services.broker_location(),
    }


def render_times(client, renders: int) -> tuple[list[float], str]:
    times, html = [], ""
    for _ in range(renders):
        started = time.perf_counter()
        response = client.get("/admin/operations/")
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
        html = response.content.decode()
    return times, html


def consumers_shown(html: str, queue: str) -> int | None:
    marker = f'data-queue="{queue}"'
    if marker in html:  # ours
        row = html[html.index(marker) :]
        cell = row[row.index("<td data-consumers>") + len("<td data-consumers>") :]
        return int(cell[: cell.index("<")])
    return None


def measure(broker: str, admin, renders: int) -> tuple[list[dict], dict]:
    from django.test import Client

    from config.ops import services
    from config.ops.queues import PUBLISHING

    client = Client()
    client.force_login(admin)
    for _ in range(3):  # warm the process: templates, URL resolvers, connections
        client.get("/admin/operations/")
    ours, html = render_times(client, renders)
    ours_consumers = consumers_shown(html, PUBLISHING)

    original = services.operations_snapshot
    services.operations_snapshot = baseline_snapshot
    try:
        # Fewer: each one waits out the ping's whole second.
        base, base_html = render_times(client, max(3, renders // 5))
    finally:
        services.operations_snapshot = original
    baseline_consumers = consumers_shown(base_html, PUBLISHING)
    figures = [
        figure(f"{broker}: page p50, ours", percentile(ours, 50), "ms"),
        figure(f"{broker}: page p95, ours", percentile(ours, 95), "ms", "<=", TARGET_MS),
        figure(f"{broker}: page p50, baseline (broadcast ping)", percentile(base, 50), "ms"),
        figure(f"{broker}: page p95, baseline (broadcast ping)", percentile(base, 95), "ms"),
        figure(f"{broker}: speed-up at p50", percentile(base, 50) / percentile(ours, 50), "x"),
        figure(
            f"{broker}: consumers shown for a queue one worker consumes, ours",
            ours_consumers if ours_consumers is not None else -1,
            "workers",
            "==",
            1,
        ),
        figure(
            f"{broker}: consumers shown for that queue, baseline",
            baseline_consumers if baseline_consumers is not None else -1,
            "workers",
        ),
    ]
    return figures, {"ours_ms": ours, "baseline_ms": base}


def run_broker(broker: str, url: str, renders: int) -> tuple[list[dict], dict]:
    """One broker in a child process: Django is set up once per process, per broker."""
    import json

    out = subprocess.run(
        [sys.executable, "-m", "bench.ops", "--child", broker, "--renders", str(renders)],
        cwd=ROOT,
        env=env(url),
        capture_output=True,
        text=True,
        check=True,
    )
    payload = json.loads(out.stdout.strip().splitlines()[-1])
    return payload["figures"], payload["raw"]


def child(broker: str, renders: int):
    import json

    # The worker starts first: its start-up overlaps this process's (a heartbeat it
    # cannot write before the migration is simply written at its next beat).
    worker = start_worker(BROKERS[broker])
    try:
        setup_django(BROKERS[broker])
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)
        admin = seed()
        if not wait_for_heartbeat():
            raise SystemExit("the worker wrote no heartbeat within 60 s")
        figures, raw = measure(broker, admin, renders)
    finally:
        # Warm shutdown (the heartbeat row goes with it); a worker still draining its
        # broker connection after 10 s is killed, the bench has its figures.
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
    print(json.dumps({"figures": figures, "raw": raw}))


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--renders", type=int, default=None)
    parser.add_argument("--brokers", default="redis,amqp")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.renders = args.renders or (15 if args.quick else 60)
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.child:
        return child(args.child, args.renders)
    ensure_database()
    figures, raw, skipped = [], {}, []
    for broker in args.brokers.split(","):
        if not broker_answers(BROKERS[broker]):
            skipped.append(broker)
            print(f"  {broker}: no broker at {BROKERS[broker]}, left out")
            continue
        print(f"== {broker}: {args.renders} renders each")
        broker_figures, raw[broker] = run_broker(broker, BROKERS[broker], args.renders)
        print_figures(broker_figures)
        figures += broker_figures
    path = write_results(
        "ops_quick" if args.quick else "ops",
        figures,
        extra={"renders": args.renders, "skipped_brokers": skipped, "raw_ms": raw},
    )
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
