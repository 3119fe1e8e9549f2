"""What every drill shares: the result row, the check for code under test that has not
landed yet, and the Context (private services, counters, process helpers).

Project modules (Django models, services, the Celery app) are imported inside the
functions throughout this package: run.py imports it before drill settings are chosen
and django.setup() has run (deploy/drills/celery_app.py does both).
"""

from __future__ import annotations

import importlib
import os
import time
import uuid
from dataclasses import dataclass, field

import httpx

from ..infra import CELERY, GUNICORN, DrillError, Proc, free_port, python_env, wait_for


@dataclass
class Row:
    drill: str
    broker: str
    expected: int = 0
    received: int = 0
    duplicates: int = 0
    lost: int = 0
    recover_s: float | None = None
    status: str = "PASS"  # PASS, FAIL, PENDING, ERROR
    note: str = ""
    extra: dict = field(default_factory=dict)


def pending_row(drill: str, broker: str, absent: list[str]) -> Row:
    """The row of a drill whose code under test has not landed: never faked as a pass."""
    return Row(drill, broker, status="PENDING", note="missing " + ", ".join(absent))


def missing(*dotted: str) -> list[str]:
    """Which of `module.attr` names do not exist (yet)."""
    absent = []
    for name in dotted:
        module, _, attr = name.rpartition(".")
        try:
            obj = importlib.import_module(module)
            if attr and not hasattr(obj, attr):
                absent.append(name)
        except ImportError:
            absent.append(name)
    return absent


def beat_entry_for(fragment: str) -> bool:
    from config.celery import app

    return any(fragment in e.get("task", "") for e in app.conf.beat_schedule.values())


class Context:
    """What every drill gets: the private services, the counters, and process helpers."""

    def __init__(self, pg, redis, sink, channel, log_dir, broker_name, broker_url, drill=""):
        self.pg, self.redis, self.sink, self.channel = pg, redis, sink, channel
        self.log_dir, self.broker_name, self.broker_url = log_dir, broker_name, broker_url
        # Log files are named <drill>-<broker>-<process>.log: one file per process.
        self.prefix = f"{drill}-{broker_name}" if drill else broker_name
        self.procs: list[Proc] = []
        self.run_id = uuid.uuid4().hex[:6]

    def env(self, **extra) -> dict:
        return python_env(
            DATABASE_URL=self.pg.url("drill"),
            CELERY_BROKER_URL=self.broker_url,
            REDIS_URL=self.redis.url(1),
            **extra,
        )

    def worker(self, name: str, concurrency: int = 2) -> Proc:
        hostname = f"{name}-{self.run_id}@drill"
        proc = Proc(
            f"{self.prefix}-{name}",
            [
                CELERY,
                "-A",
                "deploy.drills.celery_app",
                "worker",
                "-Q",
                "publishing,sending,tracking,celery",
                "-c",
                str(concurrency),
                "-n",
                hostname,
                "--without-gossip",
                "--without-mingle",
                "-l",
                "WARNING",
            ],
            self.env(),
            self.log_dir,
        )
        proc.hostname = hostname
        self.procs.append(proc)
        from config.celery import app

        wait_for(
            lambda: app.control.ping(destination=[hostname], timeout=1.0),
            # A cold worker imports Django and Wagtail: seconds on an idle machine,
            # minutes on a saturated one.
            float(os.environ.get("DRILL_START_TIMEOUT", "180")),
            interval=0.5,
            what=f"worker {hostname} to answer a ping",
            abort=proc.exited,
        )
        return proc

    def beat(self, name: str = "beat") -> Proc:
        proc = Proc(
            f"{self.prefix}-{name}",
            [
                CELERY,
                "-A",
                "deploy.drills.celery_app",
                "beat",
                "-s",
                str(self.log_dir / f"{self.prefix}-{name}-{self.run_id}.schedule"),
                "-l",
                "WARNING",
            ],
            self.env(),
            self.log_dir,
        )
        self.procs.append(proc)
        time.sleep(1.0)
        if not proc.alive():
            raise DrillError(f"beat {name} exited: {proc.tail()}")
        return proc

    def web(self) -> tuple[Proc, int]:
        port = free_port()
        proc = Proc(
            f"{self.prefix}-web",
            [GUNICORN, "-c", "deploy/gunicorn.conf.py", "config.wsgi"],
            # gunicorn refuses an empty log or heartbeat path ("'' isn't writable"): the
            # access log goes nowhere, heartbeats to the config's default (/dev/shm).
            self.env(
                GUNICORN_BIND=f"127.0.0.1:{port}",
                WEB_CONCURRENCY=2,
                GUNICORN_THREADS=8,
                GUNICORN_ACCESSLOG="/dev/null",
            ),
            self.log_dir,
        )
        self.procs.append(proc)
        wait_for(
            lambda: httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200,
            60,
            interval=0.5,
            what="gunicorn to answer /healthz",
            abort=proc.exited,
        )
        return proc, port

    def unexpected_exits(self) -> list[str]:
        """Processes that died during the drill without the drill killing them (a
        worker that crashes when its broker restarts is a finding, not noise)."""
        return [
            f"{p.name} (pid {p.pid}) exited with status {p.popen.returncode}"
            for p in self.procs
            if not p.killed and not p.alive()
        ]

    def stop_all(self):
        for proc in reversed(self.procs):
            proc.stop()
        self.procs.clear()
