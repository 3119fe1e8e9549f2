"""A real HTTP server on 127.0.0.1 for adapter tests: it records every request exactly
and answers through a small fake of the service's documented API."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class Drop(Exception):
    """Raised by a fake after doing its work: the connection closes with no response
    (the "response lost after the post was created" case)."""


@dataclass
class Request:
    method: str
    path: str
    query: dict
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body or b"null")

    def form(self) -> dict:
        return {k: v[0] for k, v in parse_qs(self.body.decode("utf-8")).items()}


@dataclass
class Reply:
    status: int = 200
    body: object = None
    headers: dict = field(default_factory=dict)

    def encode(self) -> tuple[bytes, str]:
        if isinstance(self.body, bytes):
            return self.body, self.headers.get("Content-Type", "application/octet-stream")
        if isinstance(self.body, str):
            return self.body.encode(), self.headers.get("Content-Type", "text/plain")
        return json.dumps(self.body).encode(), "application/json; charset=utf-8"


class FakeService:
    """Base for fakes: `handle(request) -> Reply`. Tests queue faults in `faults`
    (a Reply returned before handling) and set `delay` (seconds) for timeouts."""

    def __init__(self):
        self.faults: list[Reply] = []
        self.delay = 0.0
        self.drop_after_create = False
        self.lock = threading.Lock()

    def dispatch(self, request: Request) -> Reply:
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            if self.faults:
                return self.faults.pop(0)
        return self.handle(request)

    def handle(self, request: Request) -> Reply:  # pragma: no cover - overridden
        return Reply(404, {"error": "not found"})


class LoopbackServer:
    def __init__(self, service: FakeService):
        self.service = service
        self.requests: list[Request] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def _any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query={k: v[0] if len(v) == 1 else v for k, v in parse_qs(parts.query).items()},
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                server.requests.append(request)
                try:
                    reply = server.service.dispatch(request)
                except Drop:
                    self.close_connection = True
                    return
                except BrokenPipeError:
                    return
                payload, content_type = reply.encode()
                try:
                    self.send_response(reply.status)
                    headers = {"Content-Type": content_type, **reply.headers}
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = do_DELETE = _any

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __getattr__(self, name):
        # Read-through to the fake (server.posts, server.faults); set flags on .service.
        return getattr(self.__dict__["service"], name)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def calls(self, method=None, path=None) -> list[Request]:
        return [
            r
            for r in self.requests
            if (method is None or r.method == method) and (path is None or r.path == path)
        ]
