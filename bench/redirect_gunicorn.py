"""gunicorn hooks for bench/redirect.py: count, on the server, every 302 a worker sent.

wrk only counts the responses that arrive before its duration ends; requests still in
flight then are finished by gunicorn (and their clicks recorded) but never counted,
which made "302s minus event rows" come out negative. Counting here is exact: after
each response, a worker appends one byte to BENCH_REDIRECT_COUNT_DIR/<variant> (one
O_APPEND write, atomic between processes) if the response was a 302 whose headers
went out on the socket. The file size is then the number of 302s sent. Every variant
pays the same write, bare included, so the throughput ratios stay fair.

A worker stopped gracefully (SIGHUP, SIGTERM) runs this hook for its last requests
before it exits; one killed with SIGKILL could undercount, which would show up as
extra rows, never as lost events.
"""

import os

# As in deploy/gunicorn.conf.py: the application preloaded in the master, which warms
# the link cache before forking the workers.
preload_app = True
from deploy.gunicorn_hooks import when_ready  # noqa: E402,F401 - a gunicorn server hook

_VARIANTS = (("/t/", "tracked"), ("/sync/", "sync"), ("/bare/", "bare"))
_FDS: dict[str, int] = {}


def _fd(name: str) -> int:
    fd = _FDS.get(name)
    if fd is None:
        path = os.path.join(os.environ["BENCH_REDIRECT_COUNT_DIR"], name)
        fd = _FDS[name] = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    return fd


def post_request(worker, req, environ, resp):
    if resp is None or getattr(resp, "status_code", None) != 302 or not resp.headers_sent:
        return
    path = environ.get("PATH_INFO", "")
    for prefix, name in _VARIANTS:
        if path.startswith(prefix):
            os.write(_fd(name), b".")
            return
