"""Services and processes the drills start, restart and stop themselves.

Everything here is started by the drill and stopped by its own process id: a private
PostgreSQL cluster (initdb in a temporary directory, its own port), a private Redis (its
own port, append-only file on), a dedicated RabbitMQ vhost on the machine's broker (a
vhost can be created and deleted without restarting anybody's RabbitMQ), a loopback
SMTP sink that counts what it receives (the loopback "remote channel" that counts posts
is in peer.py). The machine's shared PostgreSQL, Redis and RabbitMQ are never restarted.
"""

from __future__ import annotations

import collections
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path(os.environ.get("DRILL_PG_BIN", "/usr/lib/postgresql/15/bin"))
PYTHON = str(ROOT / ".venv" / "bin" / "python")
CELERY = str(ROOT / ".venv" / "bin" / "celery")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
CACHE_DIR = ROOT / "var" / "drills"


class DrillError(RuntimeError):
    pass


def wait_for(predicate, timeout: float, interval: float = 0.2, what: str = "condition", abort=None):
    """Poll `predicate` until it returns something true. `abort` (optional) is asked
    first on every round and returns a reason to give up at once, e.g. that the process
    we are waiting for has exited: no point waiting minutes for a dead process."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reason = abort() if abort else None
        if reason:
            raise DrillError(f"gave up waiting for {what}: {reason}")
        try:
            value = predicate()
        except Exception:  # noqa: BLE001 - a service coming up refuses for a while
            value = None
        if value:
            return value
        time.sleep(interval)
    raise DrillError(f"timed out after {timeout:.0f}s waiting for {what}")


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(args: list[str], **kwargs):
    """initdb and pg_ctl refuse to run as root: run them as the postgres user."""
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--", *args]
    return subprocess.run(args, check=True, capture_output=True, text=True, **kwargs)


class DrillPostgres:
    """A throwaway PostgreSQL cluster on its own port, restartable at will."""

    def __init__(self, port: int = 5440):
        self.port = port
        self.dir = Path(tempfile.mkdtemp(prefix="drill-pg-"))
        self.data = self.dir / "data"
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self.log = self.dir / "server.log"

    def url(self, db: str = "drill") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{db}"

    def start(self):
        if port_open(self.port):
            raise DrillError(f"port {self.port} is already in use; set DRILL_PG_PORT")
        if not self.data.exists():
            _as_postgres(
                [
                    str(PG_BIN / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "--no-sync",
                    "-E",
                    "UTF8",
                    "--locale",
                    "C.UTF-8",
                ]
            )
        opts = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.dir}"
            " -c fsync=off -c max_connections=200 -c shared_buffers=64MB"
        )
        _as_postgres(
            [
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-o",
                opts,
                "-w",
                "-t",
                "30",
                "start",
            ]
        )
        wait_for(lambda: port_open(self.port), 30, what="drill PostgreSQL")

    def stop(self, mode: str = "fast"):
        if (self.data / "postmaster.pid").exists():
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"])

    def restart(self, down_seconds: float = 2.0) -> float:
        """Stop (fast: open transactions are rolled back, clients disconnected), stay
        down a moment, start again. Returns the seconds it was unreachable."""
        started = time.monotonic()
        self.stop("fast")
        time.sleep(down_seconds)
        self.start()
        return time.monotonic() - started

    def psql(self, sql: str, db: str = "postgres") -> str:
        return subprocess.run(
            [
                str(PG_BIN / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                db,
                "-Atqc",
                sql,
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    def destroy(self):
        try:
            self.stop("immediate")
        except Exception:  # noqa: BLE001
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


class DrillRedis:
    """A private redis-server with an append-only file (like docker-compose.yml)."""

    def __init__(self, port: int = 6390):
        self.port = port
        self.dir = Path(tempfile.mkdtemp(prefix="drill-redis-"))
        self.pidfile = self.dir / "redis.pid"

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self):
        if port_open(self.port):
            raise DrillError(f"port {self.port} is already in use; set DRILL_REDIS_PORT")
        subprocess.run(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--daemonize",
                "yes",
                "--dir",
                str(self.dir),
                "--pidfile",
                str(self.pidfile),
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
                "--save",
                "",
                "--logfile",
                str(self.dir / "redis.log"),
            ],
            check=True,
            capture_output=True,
        )
        wait_for(lambda: port_open(self.port) and self.pidfile.exists(), 15, what="drill Redis")

    @property
    def pid(self) -> int | None:
        try:
            return int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None

    def stop(self):
        """SIGTERM to our own redis-server (it syncs the append-only file and exits)."""
        pid = self.pid
        if pid is None:
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        wait_for(lambda: not _alive(pid), 15, what="drill Redis to stop")

    def restart(self, down_seconds: float = 2.0) -> float:
        started = time.monotonic()
        self.stop()
        time.sleep(down_seconds)
        self.start()
        return time.monotonic() - started

    def destroy(self):
        try:
            self.stop()
        except Exception:  # noqa: BLE001
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie child still "exists" until reaped.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


class RabbitVhost:
    """A dedicated vhost on the machine's RabbitMQ, created fresh and deleted after."""

    def __init__(self, name: str = "campaignhub_drill", host: str = "127.0.0.1", port: int = 5672):
        self.name, self.host, self.port = name, host, port

    def url(self) -> str:
        return f"amqp://guest:guest@{self.host}:{self.port}/{self.name}"

    def available(self) -> bool:
        return port_open(self.port, self.host) and shutil.which("rabbitmqctl") is not None

    def create(self):
        self.delete()
        subprocess.run(
            ["rabbitmqctl", "-q", "add_vhost", self.name], check=True, capture_output=True
        )
        subprocess.run(
            ["rabbitmqctl", "-q", "set_permissions", "-p", self.name, "guest", ".*", ".*", ".*"],
            check=True,
            capture_output=True,
        )

    def delete(self):
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", self.name], capture_output=True)


class SmtpSink:
    """A loopback SMTP server (deploy/drills/smtp_sink.py) in its own process, started
    and stopped by its pid, that logs every accepted recipient; counts are per
    recipient, read from that log."""

    def __init__(self):
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="drill-smtp-"))
        self.log = self.dir / "accepted.log"
        self.popen = None

    def start(self):
        self.log.touch()
        self.output = open(self.dir / "server.log", "ab")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(
            [PYTHON, "-m", "deploy.drills.smtp_sink", str(self.port), str(self.log)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=self.output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(
            lambda: port_open(self.port),
            30,
            what="the SMTP sink",
            abort=lambda: None if self.popen.poll() is None else "the SMTP sink exited",
        )

    def snapshot(self) -> collections.Counter:
        data = self.log.read_bytes()
        # Only whole lines: a line being appended right now is counted next time.
        return collections.Counter(data[: data.rfind(b"\n") + 1].decode().split())

    def received(self) -> int:
        return sum(self.snapshot().values())

    def stop(self):
        if self.popen is not None:
            if self.popen.poll() is None:
                os.kill(self.popen.pid, signal.SIGTERM)
                try:
                    self.popen.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.kill(self.popen.pid, signal.SIGKILL)
                    self.popen.wait(timeout=10)
            self.output.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Proc:
    """A worker, beat or web process started by the drill, in its own process group so
    that kill -9 of its pid (the group leader) takes its pool children with it."""

    def __init__(self, name: str, args: list[str], env: dict, log_dir: Path):
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self.log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pid = self.popen.pid
        self.killed = False  # set when the drill itself kills it (the fault)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def exited(self) -> str | None:
        """Why waiting for this process is pointless (it exited), else None."""
        code = self.popen.poll()
        if code is None:
            return None
        return f"{self.name} (pid {self.pid}) exited with status {code}:\n{self.tail(10)}"

    def kill9(self):
        """SIGKILL to the process and its pool children (its group), by its own pid."""
        self.killed = True
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.popen.wait(timeout=10)

    def stop(self, timeout: float = 15):
        if self.alive():
            try:
                os.killpg(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill9()
        else:
            # Reap pool children a dead parent may have left in the group.
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.log.close()

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def python_env(**overrides) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "DJANGO_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "deploy.drills.settings",
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update({k: str(v) for k, v in overrides.items()})
    return env


__all__ = [
    "CELERY",
    "GUNICORN",
    "PYTHON",
    "ROOT",
    "CACHE_DIR",
    "DrillError",
    "DrillPostgres",
    "DrillRedis",
    "Proc",
    "RabbitVhost",
    "SmtpSink",
    "free_port",
    "port_open",
    "python_env",
    "wait_for",
    "sys",
]
