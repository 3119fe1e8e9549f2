"""Gunicorn settings for the web service (`gunicorn -c deploy/gunicorn.conf.py config.wsgi`).

Every value can be overridden from the environment, so one image serves every size.
Sizing (see deploy/README.md, "Scaling out"): the tracked-link redirect answers from
Redis without touching PostgreSQL, so threads are cheap; admin pages are the heavy part.
"""

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# (2 x cores) + 1 processes is gunicorn's own guidance; threads let one process overlap
# slow clients and the database without the memory of another process.
workers = _int("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1)
worker_class = "gthread"
threads = _int("GUNICORN_THREADS", 4)
# Longer than the slowest admin request (CSV export, big page publish), shorter than the
# proxy's 60 s read timeout so gunicorn, not nginx, decides and logs the failure.
timeout = _int("GUNICORN_TIMEOUT", 50)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Recycle processes now and then so a slow leak never becomes an outage; jitter keeps
# them from all restarting at the same moment.
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 200)
# Heartbeat files on tmpfs: on a container's overlay filesystem a slow fsync can make
# the arbiter think a healthy worker hung.
worker_tmp_dir = os.environ.get(
    "GUNICORN_WORKER_TMP_DIR", "/dev/shm" if os.path.isdir("/dev/shm") else None
)
# Only the reverse proxy talks to us; trust its X-Forwarded-* headers (Django also reads
# X-Forwarded-Proto through SECURE_PROXY_SSL_HEADER).
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "*")
proxy_allow_ips = forwarded_allow_ips
limit_request_line = 8190
limit_request_field_size = 16380

# Import the application once in the master and warm the tracked-link cache there
# (deploy/gunicorn_hooks.py): every worker forked from it starts warm.
preload_app = True
from deploy.gunicorn_hooks import when_ready  # noqa: E402,F401 - a gunicorn server hook

accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# One JSON object per request, like the application's own logs (LOG_FORMAT=json).
access_log_format = (
    '{"ts":"%(t)s","logger":"gunicorn.access","remote":"%({x-forwarded-for}i)s",'
    '"method":"%(m)s","path":"%(U)s","status":%(s)s,"bytes":"%(B)s",'
    '"duration_ms":%(M)s,"request_id":"%({x-request-id}i)s","ua":"%(a)s"}'
)
