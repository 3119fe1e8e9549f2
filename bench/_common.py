"""Shared helpers for benchmarks: medians, and the results file every benchmark writes.

bench/results/NAME.json: {"benchmark", "date", "machine", "figures": [{"name", "value",
"unit", "target", "met"}]}. `met` is computed from the value and the target here,
never typed in by a benchmark.
"""

import datetime
import json
import os
import platform
import statistics
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"


ROOT = Path(__file__).resolve().parent.parent


def django_env(db_url: str) -> dict:
    """The environment a benchmark runs Django in: its own database, no cache server,
    quiet logs, connections kept."""
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.dev",
            "DJANGO_DEBUG": "false",
            "DATABASE_URL": db_url,
            "REDIS_URL": "",
            "LOG_LEVEL": "WARNING",
            "DATABASE_CONN_MAX_AGE": "600",
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


def ensure_database(admin_url: str, name: str, env: dict) -> None:
    """Create the benchmark's PostgreSQL database if missing, and migrate it."""
    import subprocess
    import sys

    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )


COMPARATORS = {
    ">=": lambda v, t: v >= t,
    "<=": lambda v, t: v <= t,
    "==": lambda v, t: v == t,
    ">": lambda v, t: v > t,
    "<": lambda v, t: v < t,
}


def median(values):
    return statistics.median(values) if values else float("nan")


def percentile(values, pct: float):
    """Nearest-rank percentile (pct in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), int(round(pct / 100 * len(ordered) + 0.5))))
    return ordered[rank - 1]


def figure(name: str, value: float, unit: str, op: str | None = None, target: float | None = None):
    """One reported figure. With `op` and `target` (e.g. ">=", 1500) `met` is computed."""
    met = None if op is None else bool(COMPARATORS[op](value, target))
    return {
        "name": name,
        "value": value,
        "unit": unit,
        "target": None if op is None else f"{op} {target}",
        "met": met,
    }


def write_results(benchmark: str, figures: list[dict], extra: dict | None = None) -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    payload = {
        "benchmark": benchmark,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cpus, Python {platform.python_version()}",
        "figures": figures,
    }
    if extra:
        payload["extra"] = extra
    path = RESULTS_DIR / f"{benchmark}.json"
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    return path


def print_figures(figures: list[dict]) -> None:
    for f in figures:
        status = "" if f["met"] is None else ("  MET" if f["met"] else "  NOT MET")
        target = f" (target {f['target']})" if f["target"] else ""
        print(f"  {f['name']}: {f['value']:.4g} {f['unit']}{target}{status}")
