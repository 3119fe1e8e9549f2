"""Benchmark: the tracked-link redirect under load, against a bare 302 and a
synchronous-insert version, in the same run.

    python -m bench.redirect [--quick] [--runs R] [--duration S] [--links N]

Served by gunicorn with the production settings (bench/redirect_settings.py adds the
two baseline URLs) on PostgreSQL (database bench_analytics, created and migrated if
missing) and Redis (DB 3). Load from `wrk` on loopback with a Lua script that picks a
random code out of N links (100,000; --quick 10,000) per request.

Variants, each at 64 and at 8 connections:
- bare:    /bare/<code> returns the same 302 and does nothing else;
- tracked: /t/<code>, the real view (lookup, click queued in Redis, 302);
- sync:    /sync/<code>, the same lookup, then the click is stored in PostgreSQL
           before the response (what recording on the request path costs).
Each round runs the three variants one after the other (11 rounds of 4 s; --quick: one
of 3 s), each run starting once the machine is idle, and the ratios to bare are the
median over rounds of each round's tracked / bare: the machine is shared, and its
speed drifts more between minutes than the variants differ.

Events lost = 302 responses sent - event rows after draining the queue, with the 302s
counted by gunicorn itself (bench/redirect_gunicorn.py): wrk stops counting at the end
of its duration while the requests then in flight still complete and record their
click, so its own count would undercount responses. Rows beyond the 302s sent (a click
recorded for a request whose client went away before the redirect went out) are
reported separately as extra rows, never netted against losses. A last run of the
tracked variant sends gunicorn a SIGHUP (graceful restart of every worker) halfway.
Link caches: gunicorn preloads the application and warms the tracked-link cache in
its master before forking the workers (deploy/gunicorn_hooks.py), as the production
config does, so the restarted workers start warm too.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._common import figure, print_figures, write_results

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "bench_analytics"
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DB_URL = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + DB_NAME
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/3")
PORT = int(os.environ.get("BENCH_REDIRECT_PORT", "18765"))
QUEUE_KEY = "bench-redirect:events"
UA = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"

LUA = r"""
local codes = {}
local prefix = "/t/"
function init(args)
  prefix = args[1]
  for line in io.lines(args[2]) do codes[#codes + 1] = line end
  math.randomseed(os.time() * 1000 + math.floor(os.clock() * 1000000))
end
function request()
  return wrk.format("GET", prefix .. codes[math.random(#codes)])
end
"""


def env() -> dict:
    e = dict(os.environ)
    e.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.redirect_settings",
            "DATABASE_URL": DB_URL,
            "REDIS_URL": REDIS_URL,
            "DJANGO_SECRET_KEY": "bench-" + "k" * 50,
            "FIELD_ENCRYPTION_KEYS": "2lYk8r3pY1d7K3Gf8tHuEo5zr9V7bXq0Lw0eBfNf8xg=",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "LOG_LEVEL": "WARNING",
            "DATABASE_CONN_MAX_AGE": "600",
            "ANALYTICS_QUEUE_KEY": QUEUE_KEY,
            "PYTHONPATH": str(ROOT),
        }
    )
    return e


def ensure_database():
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env(),
        check=True,
    )


def setup_django():
    os.environ.update(env())
    import django

    django.setup()  # the queue key comes from the environment (env())


def ensure_links(n: int) -> list[str]:
    from analytics.models import TrackedLink

    have = TrackedLink.objects.filter(label="bench-redirect").count()
    if have < n:
        rows = []
        for i in range(have, n):
            url = f"https://shop.example.com/p/{i}"
            rows.append(
                TrackedLink(
                    code=secrets.token_urlsafe(12),
                    link_key=hashlib.sha256(f"bench-redirect|{i}".encode()).hexdigest(),
                    original_url=url,
                    destination=url + "?utm_source=bench&utm_medium=referral",
                    channel="bench",
                    medium="referral",
                    label="bench-redirect",
                )
            )
        TrackedLink.objects.bulk_create(rows, batch_size=5000, ignore_conflicts=True)
    return list(
        TrackedLink.objects.filter(label="bench-redirect")
        .order_by("pk")
        .values_list("code", flat=True)[:n]
    )


def wait_for_port(port: int, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not start on port {port}")


def start_gunicorn(workers: int, count_dir: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "config.wsgi",
            "-c",
            str(ROOT / "bench" / "redirect_gunicorn.py"),
            "-b",
            f"127.0.0.1:{PORT}",
            "-w",
            str(workers),
            "--graceful-timeout",
            "30",
            "--backlog",
            "2048",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**env(), "BENCH_REDIRECT_COUNT_DIR": str(count_dir)},
    )
    wait_for_port(PORT)
    return proc


def sent_302s(count_dir: Path, variant: str) -> int:
    """302s the workers sent for `variant` so far (bench/redirect_gunicorn.py)."""
    try:
        return (count_dir / variant).stat().st_size
    except FileNotFoundError:
        return 0


def wait_until_quiet(count_dir: Path, variant: str, settle: float = 0.3, limit: float = 15):
    """Wait until the requests still in flight when wrk stopped have finished: the
    server's count stops moving for `settle` seconds."""
    deadline = time.monotonic() + limit
    last = sent_302s(count_dir, variant)
    while time.monotonic() < deadline:
        time.sleep(settle)
        now = sent_302s(count_dir, variant)
        if now == last:
            return now
        last = now
    return last


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s|m)", text)
    return float(match.group(1)) * _UNITS[match.group(2)]


def run_wrk(prefix: str, connections: int, duration: float, script: Path, codes: Path, during=None):
    cmd = [
        "wrk",
        "-t",
        "2",
        "-c",
        str(connections),
        "-d",
        f"{duration}s",
        "--latency",
        "--timeout",
        "10s",
        "-H",
        "X-Forwarded-Proto: https",
        "-H",
        f"User-Agent: {UA}",
        "-s",
        str(script),
        f"http://127.0.0.1:{PORT}",
        "--",
        prefix,
        str(codes),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if during:
        time.sleep(duration / 2)
        during()
    out, _ = proc.communicate(timeout=duration + 120)
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non_3xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": _ms(re.search(r"\s50%\s+(\S+)", out).group(1)),
        "p99": _ms(re.search(r"\s99%\s+(\S+)", out).group(1)),
        # As counted by wrk: only the responses that arrived within its duration.
        "responses": total - (int(non_3xx.group(1)) if non_3xx else 0),
        "socket_errors": sum(int(x) for x in errors.groups()) if errors else 0,
        "raw": out,
    }


def _busy_jiffies() -> tuple[int, int]:
    """(busy, total) CPU time of the whole machine so far, from /proc/stat."""
    with open("/proc/stat") as f:
        user, nice, system, idle, iowait, irq, softirq, steal = map(int, f.readline().split()[1:9])
    busy = user + nice + system + irq + softirq
    return busy, busy + idle + iowait + steal


def wait_for_idle(threshold: float = 0.15, window: float = 0.5, limit: float = 20) -> None:
    """Wait until the machine is quiet (under `threshold` of its CPU busy over `window`):
    the drain after a run and PostgreSQL's background work (autovacuum, checkpoints)
    would otherwise land in whichever run comes next."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        busy0, total0 = _busy_jiffies()
        time.sleep(window)
        busy1, total1 = _busy_jiffies()
        if (busy1 - busy0) <= threshold * max(1, total1 - total0):
            return


def last_event_id() -> int:
    from django.db.models import Max

    from analytics.models import Event

    return Event.objects.aggregate(last=Max("pk"))["last"] or 0


def count_rows(after_id: int) -> int:
    """Click rows stored since `after_id` was the newest event. Taken while nothing is
    writing (before a run, after the drain), so ids are all that is needed - and a
    COUNT over the whole table, which grows with every run, is not."""
    from analytics.models import Event

    return Event.objects.filter(kind="click", pk__gt=after_id).count()


def drain_all() -> int:
    from analytics.draining import drain_event_queue
    from analytics.event_queue import queue_client

    total = 0
    while True:
        done = drain_event_queue(batch_size=5000, max_batches=20)
        total += done
        if not done:
            if not queue_client().llen(QUEUE_KEY):
                return total
            time.sleep(0.5)


def parse_args(argv=None) -> argparse.Namespace:
    """The options, with --runs, --duration and --links resolved (--quick: smaller)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--duration", type=float, default=None)
    parser.add_argument("--links", type=int, default=None)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args(argv)
    args.runs = args.runs or (1 if args.quick else 11)
    args.duration = args.duration or (3 if args.quick else 4)
    args.links = args.links or (10_000 if args.quick else 100_000)
    return args


def reset_queue() -> None:
    """Empty the benchmark's click queue and forget Redis's copies of the links."""
    from analytics.event_queue import queue_client

    client = queue_client()
    client.delete(QUEUE_KEY, f"{QUEUE_KEY}:processing", f"{QUEUE_KEY}:lock")
    # Redis's copies of the links start cold, like each new worker's own cache.
    stale = list(client.scan_iter(f"{QUEUE_KEY}:link:*", count=10_000))
    for i in range(0, len(stale), 10_000):
        client.delete(*stale[i : i + 10_000])


def write_wrk_inputs(tmp: Path, codes: list[str]) -> tuple[Path, Path]:
    """The codes file and the Lua script wrk picks a random code with: (codes, script)."""
    codes_file = tmp / "codes.txt"
    codes_file.write_text("\n".join(codes) + "\n")
    script = tmp / "random.lua"
    script.write_text(LUA)
    return codes_file, script


def stop_gunicorn(server: subprocess.Popen) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=40)
    except subprocess.TimeoutExpired:
        server.kill()


class RedirectRuns:
    """The wrk runs against one gunicorn: their results per (variant, connections), and
    the exact accounting of clicks per variant that records them."""

    def __init__(self, script: Path, codes_file: Path, count_dir: Path):
        self.script, self.codes_file, self.count_dir = script, codes_file, count_dir
        self.results: dict = {}
        # Per variant: 302s sent (server count), 302s wrk saw, event rows, lost, extra rows.
        self.tally = {
            name: dict.fromkeys(("sent", "seen", "rows", "lost", "extra"), 0)
            for name in ("tracked", "sync", "restart")
        }

    def measure(self, variant, prefix, connections, seconds, account=None, during=None):
        """One wrk run, then (for variants that record clicks) the exact accounting."""
        account = account or variant
        wait_for_idle()
        id_before, sent_before = last_event_id(), sent_302s(self.count_dir, variant)
        r = run_wrk(prefix, connections, seconds, self.script, self.codes_file, during=during)
        sent = wait_until_quiet(self.count_dir, variant) - sent_before
        r["sent"] = sent
        if account in self.tally:
            drain_all()
            rows = count_rows(id_before)
            t = self.tally[account]
            t["sent"] += sent
            t["seen"] += r["responses"]
            t["rows"] += rows
            # Counted per run, never netted: an extra row in one run cannot hide a
            # lost one in another.
            t["lost"] += max(0, sent - rows)
            t["extra"] += max(0, rows - sent)
        return r

    def warm_up(self) -> None:
        """Imports, connections, and the first link lookups of each worker."""
        for prefix in ("/bare/", "/t/", "/sync/"):
            run_wrk(prefix, 8, 2, self.script, self.codes_file)
        drain_all()

    def rounds(self, runs: int, duration: float) -> None:
        # Rounds interleave the variants (bare, tracked, sync, bare, ...): on a shared
        # machine whose speed drifts from minute to minute, each tracked run is then
        # compared with the bare run just before it.
        for connections in (64, 8):
            for _ in range(runs):
                for name, prefix in (("bare", "/bare/"), ("tracked", "/t/"), ("sync", "/sync/")):
                    r = self.measure(name, prefix, connections, duration)
                    self.results.setdefault((name, connections), []).append(r)
                    print(
                        f"  {name:8s} c={connections:3d}: {r['rps']:8.0f}/s p50 {r['p50']:.2f} ms "
                        f"p99 {r['p99']:.2f} ms ({r['sent']} 302s sent, "
                        f"{r['responses']} seen by wrk)",
                        flush=True,
                    )

    def graceful_restart(self, server: subprocess.Popen, duration: float) -> None:
        """A tracked run with a SIGHUP to gunicorn (every worker restarted) halfway."""
        r = self.measure(
            "tracked",
            "/t/",
            64,
            max(duration, 6),
            account="restart",
            during=lambda: server.send_signal(signal.SIGHUP),
        )
        t = self.tally["restart"]
        print(
            f"  restart  c= 64: {r['rps']:8.0f}/s, {t['sent']} 302s sent "
            f"({t['seen']} seen by wrk), {t['rows']} event rows, "
            f"{r['socket_errors']} socket errors, lost {t['lost']}, extra rows {t['extra']}",
            flush=True,
        )


def _median_of(results, name, c, key):
    return statistics.median(r[key] for r in results[(name, c)])


def _paired(results, c, key):
    """Median over rounds of tracked / bare, each round against its own bare run."""
    pairs = zip(results[("tracked", c)], results[("bare", c)], strict=True)
    return statistics.median(t[key] / b[key] for t, b in pairs)


def speed_figures(results: dict, c: int) -> list[dict]:
    """Throughput and latency at `c` connections: medians, and ratios to bare."""

    def med(name, key):
        return _median_of(results, name, c, key)

    bare_rps, bare_p99 = med("bare", "rps"), med("bare", "p99")
    tracked_rps, tracked_p99 = med("tracked", "rps"), med("tracked", "p99")
    if c == 64:
        figures = [figure("tracked redirects/s (64 conns)", tracked_rps, "req/s", ">=", 2500)]
    else:
        figures = [figure("tracked redirects/s (8 conns)", tracked_rps, "req/s")]
    return figures + [
        figure(f"bare 302 view/s ({c} conns)", bare_rps, "req/s"),
        figure(f"sync-insert redirects/s ({c} conns)", med("sync", "rps"), "req/s"),
        figure(
            f"tracked / bare throughput ({c} conns)", _paired(results, c, "rps"), "ratio", ">=", 0.8
        ),
        figure(f"ratio of the median throughputs ({c} conns)", tracked_rps / bare_rps, "ratio"),
        figure(f"tracked p50 ({c} conns)", med("tracked", "p50"), "ms"),
        figure(f"tracked p99 ({c} conns)", tracked_p99, "ms"),
        figure(f"bare p50 ({c} conns)", med("bare", "p50"), "ms"),
        figure(f"bare p99 ({c} conns)", bare_p99, "ms"),
        figure(f"sync p99 ({c} conns)", med("sync", "p99"), "ms"),
        figure(
            f"tracked p99 / bare p99 ({c} conns)", _paired(results, c, "p99"), "ratio", "<=", 1.5
        ),
    ]


def loss_figures(tally: dict) -> list[dict]:
    """Clicks lost and extra rows, per variant that records them."""
    tracked, restart, sync = tally["tracked"], tally["restart"], tally["sync"]
    return [
        figure("events lost (tracked, all runs)", tracked["lost"], "events", "==", 0),
        figure("extra event rows (tracked, all runs)", tracked["extra"], "events"),
        figure("302s sent (tracked, all runs)", tracked["sent"], "responses"),
        figure("302s seen by wrk (tracked, all runs)", tracked["seen"], "responses"),
        figure("events lost (graceful restart mid-run)", restart["lost"], "events", "==", 0),
        figure("extra event rows (graceful restart mid-run)", restart["extra"], "events"),
        figure("302s sent (graceful restart mid-run)", restart["sent"], "responses"),
        figure("events lost (sync insert)", sync["lost"], "events"),
    ]


def main(argv=None):
    args = parse_args(argv)
    ensure_database()
    setup_django()
    reset_queue()
    codes = ensure_links(args.links)
    tmp = Path(tempfile.mkdtemp(prefix="bench-redirect-"))
    codes_file, script = write_wrk_inputs(tmp, codes)
    count_dir = tmp / "sent"
    count_dir.mkdir()
    server = start_gunicorn(args.workers, count_dir)
    runs = RedirectRuns(script, codes_file, count_dir)
    try:
        runs.warm_up()
        runs.rounds(args.runs, args.duration)
        runs.graceful_restart(server, args.duration)
    finally:
        stop_gunicorn(server)

    figures = speed_figures(runs.results, 64) + speed_figures(runs.results, 8)
    figures += loss_figures(runs.tally)
    print_figures(figures)
    write_results(
        "redirect_quick" if args.quick else "redirect",
        figures,
        extra={
            "links": args.links,
            "runs": args.runs,
            "duration_s": args.duration,
            "gunicorn_workers": args.workers,
            "quick": args.quick,
        },
    )


if __name__ == "__main__":
    main()
