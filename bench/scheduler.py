"""Benchmark: the exactly-once scheduler under a burst, against the naive approach.

    python -m bench.scheduler [--quick] [--burst N] [--runs R]

Uses its own PostgreSQL database (bench_scheduler, created if missing) and Redis DB 13
(broker) / 14 (post counters), so it never touches development or test data.

Scenario (issue 3, "Benchmark"):
1. Burst: N publications (10,000; --quick 1,000) all due in the same second on a
   no-op channel registered only here. A dispatcher process (the real
   `dispatch_due_publications`, ticking every second as beat would) and 2 Celery worker
   processes (prefork, concurrency 1 each, Redis broker, the real publish task).
   Reported: time from the due second until every row is claimed, lateness (attempt
   start minus due time) p50/p99/max, duplicates (posts per idempotency key > 1),
   losses (rows not published / keys never posted).
2. Steady state: publications due at a steady rate for a while; lateness p50/p99/max.
3. Dispatcher memory: RSS of the dispatcher process after ticking with 1,000 vs
   100,000 future (not yet due) rows (--quick: 1,000 vs 20,000).
4. Baseline in the same run: one Celery ETA task per publication (the naive approach),
   same workers, same broker: lateness, duplicates, losses; plus the same thing with
   ETAs beyond the broker's visibility timeout (scaled down: 4 s timeout, 8 s ETA),
   which is what posts scheduled more than an hour ahead look like with Redis.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "bench_scheduler"
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DB_URL = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + DB_NAME
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/13")
COUNTER_URL = os.environ.get("BENCH_COUNTER_URL", "redis://127.0.0.1:6379/14")
QUEUE = "bench-scheduler"


def _env(extra: dict | None = None) -> dict:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.dev",
            "DJANGO_DEBUG": "false",
            "DATABASE_URL": DB_URL,
            "CELERY_BROKER_URL": BROKER_URL,
            "REDIS_URL": "",
            "LOG_LEVEL": "WARNING",
            "DATABASE_CONN_MAX_AGE": "600",
            "PYTHONPATH": str(ROOT),
        }
    )
    env.update(extra or {})
    return env


# --- Code that runs inside the benchmark's Django processes ----------------------------


def _setup_django():
    for key, value in _env().items():
        os.environ[key] = value
    import django

    django.setup()
    from channels import registry

    registry.ADAPTERS["bench/noop"] = ("bench.scheduler.NoopAdapter", "Benchmark no-op")


class NoopAdapter:
    """A channel that only counts posts (in Redis, shared by all processes)."""

    kind = "bench/noop"

    def __init__(self, account):
        self.account = account

    def render(self, publication):
        from channels.base import Rendered

        return Rendered(title="bench")

    def publish(self, publication, rendered):
        from channels.base import PublishResult

        _counter().incr(f"posts:{publication.idempotency_key}")
        return PublishResult(external_id=str(publication.idempotency_key))

    def find_existing(self, publication):
        from channels.base import PublishResult

        if _counter().get(f"posts:{publication.idempotency_key}"):
            return PublishResult(external_id=str(publication.idempotency_key))
        return None

    def validate_account(self, account):
        return None


_redis = None


def _counter():
    global _redis
    if _redis is None:
        import redis

        _redis = redis.Redis.from_url(COUNTER_URL)
    return _redis


_NAIVE_TASK = None


def _naive_task():
    """The naive publish task, defined once per process (Celery refuses a second one)."""
    global _NAIVE_TASK
    if _NAIVE_TASK is None:
        _NAIVE_TASK = _define_naive_task()
    return _NAIVE_TASK


def _define_naive_task():
    from celery import shared_task

    @shared_task(name="bench.naive_publish", acks_late=True, reject_on_worker_lost=True)
    def naive_publish(pk):
        # The naive approach: no claim, no status check; just publish when the ETA hits.
        from django.utils import timezone

        from campaigns.models import Publication

        pub = Publication.objects.get(pk=pk)
        now = timezone.now()
        _counter().incr(f"posts:{pub.idempotency_key}")
        Publication.objects.filter(pk=pk).update(
            status=Publication.Status.PUBLISHED, started_at=now, published_at=now
        )

    return naive_publish


def run_worker(visibility: float | None):
    _setup_django()
    from config.celery import app

    if visibility:
        app.conf.broker_transport_options = {"visibility_timeout": visibility}
    _naive_task()
    app.worker_main(
        [
            "worker",
            "--pool=prefork",
            "--concurrency=1",
            "-Q",
            QUEUE,
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=WARNING",
        ]
    )


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run_dispatcher(seconds: float, out_path: str):
    """Tick like beat: the real dispatcher once a second. Writes RSS samples."""
    _setup_django()
    from django.conf import settings

    from campaigns import services
    from config.celery import app

    app.conf.task_default_queue = QUEUE
    settings.CAMPAIGNS_DISPATCH_BATCH = 1000
    samples = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        tick = time.monotonic()
        services.dispatch_due_publications(max_seconds=0.9)
        samples.append(_rss_mb())
        time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
    Path(out_path).write_text(" ".join(f"{s:.2f}" for s in samples))


# --- The orchestrator ------------------------------------------------------------------


def ensure_database():
    import psycopg

    with psycopg.connect(
        PG_ADMIN_URL.replace("postgres://", "postgresql://"), autocommit=True
    ) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=_env(),
        check=True,
    )


def spawn(args: list[str], extra_env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bench.scheduler", *args],
        cwd=ROOT,
        env=_env(extra_env),
        start_new_session=True,
    )


def stop(proc: subprocess.Popen):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def fixtures():
    """One approved campaign, a page, a no-op account; wipes earlier benchmark rows."""
    import datetime

    from django.contrib.auth import get_user_model
    from wagtail.models import Page

    from campaigns.models import Campaign, Publication
    from channels.models import ChannelAccount

    user, _ = get_user_model().objects.get_or_create(username="bench")
    campaign, _ = Campaign.objects.get_or_create(
        slug="bench",
        defaults=dict(
            name="Bench",
            owner=user,
            status=Campaign.Status.APPROVED,
            start_date=datetime.date(2000, 1, 1),
            end_date=datetime.date(2999, 1, 1),
        ),
    )
    account, _ = ChannelAccount.objects.get_or_create(
        name="bench-noop", defaults={"kind": "bench/noop", "rate_limit_per_minute": 0}
    )
    Publication.objects.filter(campaign=campaign).delete()
    page = Page.get_first_root_node()
    return campaign, account, page


def create_rows(n, due, status="scheduled", batch=5000):
    from campaigns.models import Publication

    campaign, account, page = fixtures()
    rows = [
        Publication(
            campaign=campaign,
            page=page,
            channel_account=account,
            publish_at=due,
            due_at=due if status == "scheduled" else None,
            status=status,
        )
        for _ in range(n)
    ]
    Publication.objects.bulk_create(rows, batch_size=batch)
    return campaign


def wait_published(campaign, n, timeout):
    from campaigns.models import Publication

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        done = Publication.objects.filter(campaign=campaign, status="published").count()
        if done >= n:
            return True
        time.sleep(0.5)
    return False


def measure(campaign, n):
    from bench._common import percentile
    from campaigns.models import Publication

    rows = list(
        Publication.objects.filter(campaign=campaign).values_list(
            "publish_at", "queued_at", "started_at", "status", "idempotency_key"
        )
    )
    late = [(s - p).total_seconds() for p, _q, s, _st, _k in rows if s]
    claim = [(q - p).total_seconds() for p, q, _s, _st, _k in rows if q]
    counter = _counter()
    keys = [f"posts:{k}" for *_x, k in rows]
    counts = []
    for i in range(0, len(keys), 5000):
        counts.extend(int(c or 0) for c in counter.mget(keys[i : i + 5000]))
    duplicates = sum(max(0, c - 1) for c in counts)
    losses = sum(1 for c in counts if c == 0) + (n - len(rows))
    not_published = sum(1 for *_x, st, _k in rows if st != "published")
    return {
        "late_p50": percentile(late, 50) if late else float("nan"),
        "late_p99": percentile(late, 99) if late else float("nan"),
        "late_max": max(late) if late else float("nan"),
        "claimed_all_after": max(claim) if len(claim) == n else float("inf"),
        "duplicates": duplicates,
        "losses": max(losses, not_published),
    }


def scenario_burst(n, workers_timeout):
    import datetime

    from django.utils import timezone

    due = (timezone.now() + datetime.timedelta(seconds=4)).replace(microsecond=0)
    campaign = create_rows(n, due)
    _counter().flushdb()
    dispatcher = spawn(
        ["dispatcher", "--seconds", str(workers_timeout), "--out", "/tmp/bench_disp_burst"]
    )
    ok = wait_published(campaign, n, workers_timeout)
    stop(dispatcher)
    result = measure(campaign, n)
    result["completed"] = ok
    return result


def scenario_steady(rate, seconds):
    import datetime

    from django.utils import timezone

    from campaigns.models import Publication

    campaign, account, page = fixtures()
    start = timezone.now() + datetime.timedelta(seconds=3)
    rows = []
    for i in range(int(rate * seconds)):
        due = start + datetime.timedelta(seconds=i / rate)
        rows.append(
            Publication(
                campaign=campaign, page=page, channel_account=account,
                publish_at=due, due_at=due, status="scheduled",
            )
        )  # fmt: skip
    Publication.objects.bulk_create(rows, batch_size=5000)
    _counter().flushdb()
    dispatcher = spawn(
        ["dispatcher", "--seconds", str(seconds + 40), "--out", "/tmp/bench_disp_steady"]
    )
    ok = wait_published(campaign, len(rows), seconds + 40)
    stop(dispatcher)
    result = measure(campaign, len(rows))
    result["completed"] = ok
    return result


def scenario_memory(n_future, ticks):
    import datetime

    from django.utils import timezone

    create_rows(n_future, timezone.now() + datetime.timedelta(days=30))
    out = f"/tmp/bench_disp_mem_{n_future}"
    proc = spawn(["dispatcher", "--seconds", str(ticks), "--out", out])
    proc.wait()
    samples = [float(x) for x in Path(out).read_text().split()]
    return max(samples)


def scenario_naive(n, eta_seconds, timeout):
    import datetime

    from django.utils import timezone

    from config.celery import app

    due = (timezone.now() + datetime.timedelta(seconds=eta_seconds)).replace(microsecond=0)
    campaign = create_rows(n, due, status="queued")
    _counter().flushdb()
    task = _naive_task()
    ids = list(campaign.publications.values_list("pk", flat=True))
    t0 = time.monotonic()
    with app.connection_for_write() as conn:
        for pk in ids:
            task.apply_async((pk,), eta=due, queue=QUEUE, connection=conn)
    enqueue_seconds = time.monotonic() - t0
    ok = wait_published(campaign, n, timeout)
    time.sleep(2)  # let redeliveries, if any, land
    result = measure(campaign, n)
    result["completed"] = ok
    result["enqueue_seconds"] = enqueue_seconds
    return result


def median_of(results: list[dict]) -> dict:
    """Per-key median of several runs' results (booleans: all of them)."""
    from bench._common import median

    return {
        key: all(r[key] for r in results)
        if isinstance(results[0][key], bool)
        else median([r[key] for r in results])
        for key in results[0]
    }


def with_workers(visibility, fn, *args):
    import redis

    redis.Redis.from_url(BROKER_URL).flushdb()
    extra = {"BENCH_VISIBILITY": str(visibility or "")}
    workers = [spawn(["worker"], extra) for _ in range(2)]
    time.sleep(4)  # workers connect
    try:
        return fn(*args)
    finally:
        for w in workers:
            stop(w)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "role", nargs="?", default="bench", choices=["bench", "worker", "dispatcher"]
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--burst", type=int, default=None)
    parser.add_argument("--runs", type=int, default=None, help="repeats (default 3; quick 1)")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--out", default="/tmp/bench_disp")
    return parser.parse_args()


@dataclass
class Plan:
    """The sizes of one benchmark run (--quick: every scenario smaller)."""

    quick: bool
    burst: int
    runs: int
    steady_rate: int
    steady_secs: int
    timeout: int

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Plan:
        steady_rate, steady_secs = (20, 4) if args.quick else (25, 30)
        return cls(
            quick=args.quick,
            burst=args.burst or (300 if args.quick else 10_000),
            runs=args.runs or (1 if args.quick else 3),
            steady_rate=steady_rate,
            steady_secs=steady_secs,
            timeout=60 if args.quick else 300,
        )

    @property
    def memory_ticks(self) -> int:
        return 2 if self.quick else 5

    @property
    def memory_future_rows(self) -> int:
        """The larger of the two future-row counts the dispatcher's memory is read at."""
        return 20_000 if self.quick else 100_000


def run_scenarios(plan: Plan) -> dict[str, list[dict]]:
    """Every run of the burst, steady and naive scenarios: their results, by scenario."""
    raw: dict[str, list[dict]] = {"burst": [], "steady": [], "naive": [], "naive_visibility": []}
    for _ in range(plan.runs):
        # One set of workers for the three scenarios: they run one after another and each
        # waits for its rows, so nothing of one is left in flight when the next starts.
        b, st, nv = with_workers(
            None,
            lambda: (
                scenario_burst(plan.burst, plan.timeout),
                scenario_steady(plan.steady_rate, plan.steady_secs),
                scenario_naive(plan.burst, 4, plan.timeout),
            ),
        )
        raw["burst"].append(b)
        raw["steady"].append(st)
        raw["naive"].append(nv)
        raw["naive_visibility"].append(
            with_workers(4, scenario_naive, min(plan.burst, 200), 8, 20 if plan.quick else 40)
        )
    return raw


def scheduler_figures(plan: Plan, raw: dict, mem_small: float, mem_large: float) -> list[dict]:
    """The reported figures: medians over the runs, and the dispatcher's memory."""
    from bench._common import figure

    burst_res, steady_res = median_of(raw["burst"]), median_of(raw["steady"])
    naive_res, naive_vis = median_of(raw["naive"]), median_of(raw["naive_visibility"])
    return [
        figure(
            "burst: all claimed after due second", burst_res["claimed_all_after"], "s", "<=", 10
        ),
        figure("burst: lateness p50", burst_res["late_p50"], "s"),
        figure("burst: lateness p99", burst_res["late_p99"], "s"),
        figure("burst: lateness max", burst_res["late_max"], "s"),
        figure("burst: duplicates", burst_res["duplicates"], "posts", "==", 0),
        figure("burst: losses", burst_res["losses"], "rows", "==", 0),
        figure("steady: lateness p50", steady_res["late_p50"], "s"),
        figure("steady: lateness p99", steady_res["late_p99"], "s", "<=", 2),
        figure("steady: lateness max", steady_res["late_max"], "s"),
        figure("steady: duplicates", steady_res["duplicates"], "posts", "==", 0),
        figure("steady: losses", steady_res["losses"], "rows", "==", 0),
        figure("dispatcher RSS, 1k future rows", mem_small, "MB"),
        figure(f"dispatcher RSS, {'20k' if plan.quick else '100k'} future rows", mem_large, "MB"),
        figure("dispatcher RSS growth", mem_large - mem_small, "MB", "<=", 5),
        figure("naive ETA: lateness p50", naive_res["late_p50"], "s"),
        figure("naive ETA: lateness p99", naive_res["late_p99"], "s"),
        figure("naive ETA: lateness max", naive_res["late_max"], "s"),
        figure("naive ETA: duplicates", naive_res["duplicates"], "posts"),
        figure("naive ETA: losses", naive_res["losses"], "rows"),
        figure("naive ETA beyond visibility timeout: duplicates", naive_vis["duplicates"], "posts"),
    ]


def main():
    args = parse_args()
    if args.role == "worker":
        return run_worker(float(os.environ.get("BENCH_VISIBILITY") or 0) or None)
    if args.role == "dispatcher":
        return run_dispatcher(args.seconds, args.out)

    from bench._common import print_figures, write_results

    plan = Plan.from_args(args)
    ensure_database()
    _setup_django()
    from config.celery import app

    app.conf.task_default_queue = QUEUE

    started = time.monotonic()
    raw = run_scenarios(plan)
    mem_small = scenario_memory(1000, plan.memory_ticks)
    mem_large = scenario_memory(plan.memory_future_rows, plan.memory_ticks)
    figures = scheduler_figures(plan, raw, mem_small, mem_large)
    extra = {
        "burst": plan.burst,
        "steady_rate_per_s": plan.steady_rate,
        "steady_seconds": plan.steady_secs,
        "quick": plan.quick,
        "runs": plan.runs,
        "total_seconds": round(time.monotonic() - started, 1),
        "raw": raw,
        "load_average": os.getloadavg(),
    }
    print_figures(figures)
    print(f"  total {extra['total_seconds']} s, load average {extra['load_average']}")
    write_results("scheduler_quick" if plan.quick else "scheduler", figures, extra)


if __name__ == "__main__":
    main()
