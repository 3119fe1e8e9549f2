"""A fault-injecting HTTP proxy on 127.0.0.1, between an adapter and its loopback peer.

It is a real TCP proxy: the adapter's HTTP client talks to it over a socket and sees
exactly what it would see behind a misbehaving load balancer or a lossy network, so
the adapter's own error handling (channels.http) is what the test exercises. Requests
pass unchanged unless a rule picks them; then the proxy can

* DELAY   forward, let the peer act, and hold its answer past the client's timeout;
* DROP    forward, let the peer act, then close the connection without an answer;
* RESET   forward, let the peer act, send half the answer and reset the connection;
* GATEWAY_ERROR         answer 502 (or `status`) without forwarding anything;
* GATEWAY_ERROR_AFTER   forward, let the peer act, then answer 502 instead of its answer
  (a gateway whose upstream read failed after the request went through).

Rules pick requests by method, path (a regular expression matched in full, query not
included) and optionally a piece of the body (an XML-RPC method name), and fire on the
`nth` matching request for `times` requests: `proxy.add(DROP, "POST", r"/posts\\.json")`.
"""

from __future__ import annotations

import re
import socket
import socketserver
import struct
import threading
import time
from dataclasses import dataclass, field

PASS = "pass"
DELAY = "delay"
DROP = "drop"
RESET = "reset"
GATEWAY_ERROR = "gateway_error"
GATEWAY_ERROR_AFTER = "gateway_error_after"
FAULTS = (DELAY, DROP, RESET, GATEWAY_ERROR, GATEWAY_ERROR_AFTER)
# The faults after which the peer has carried the request out.
FORWARDING_FAULTS = (DELAY, DROP, RESET, GATEWAY_ERROR_AFTER)

REASONS = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


@dataclass
class Rule:
    fault: str
    method: str | None = None
    path: str | None = None
    body_contains: bytes | None = None
    nth: int = 1
    times: int = 1
    status: int = 502
    seen: int = 0  # matching requests so far

    def picks(self, method: str, path: str, body: bytes) -> bool:
        """Count the request if it matches; True when it is one this rule faults."""
        if self.method and method != self.method:
            return False
        if self.path and not re.fullmatch(self.path, path):
            return False
        if self.body_contains is not None and self.body_contains not in body:
            return False
        self.seen += 1
        return self.nth <= self.seen < self.nth + self.times


@dataclass
class Exchange:
    """One request the proxy saw, and what it did with it."""

    method: str
    path: str
    fault: str
    answered: bytes = b""  # the status line the peer gave, when forwarded


@dataclass
class HTTPMessage:
    head: bytes
    body: bytes = b""
    first_line: str = ""
    headers: dict = field(default_factory=dict)

    @property
    def raw(self) -> bytes:
        return self.head + self.body


def read_message(stream, *, is_response: bool) -> HTTPMessage | None:
    """One HTTP/1.1 message from a socket file, framed by Content-Length (what every
    client and peer in these tests sends). None when the other side closed first."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        line = stream.readline(65537)
        if not line:
            return None
        head += line
        if head == b"\r\n":  # stray blank line between keep-alive requests
            head = b""
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        raise NotImplementedError("the fault proxy does not relay chunked bodies")
    length = int(headers.get("content-length") or 0)
    body = stream.read(length) if length else b""
    if is_response and "content-length" not in headers:
        body = stream.read()  # framed by the close
    return HTTPMessage(head=head, body=body, first_line=lines[0], headers=headers)


class FaultProxy:
    """`FaultProxy(upstream_url)`; use `.url` as the adapter's base URL or endpoint."""

    def __init__(self, upstream_url: str, delay: float = 1.5):
        host_port = upstream_url.split("://", 1)[1].split("/", 1)[0]
        host, port = host_port.rsplit(":", 1)
        self.upstream = (host, int(port))
        self.delay = delay
        self.rules: list[Rule] = []
        self.exchanges: list[Exchange] = []
        self.lock = threading.Lock()
        self.server = _Server(("127.0.0.1", 0), self._handler_class())
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def add(
        self, fault: str, method=None, path=None, *, nth=1, times=1, body_contains=None, status=502
    ) -> Rule:
        """Fault the `nth` (and the next `times - 1`) requests matching method/path/body."""
        assert fault in FAULTS, fault
        if isinstance(body_contains, str):
            body_contains = body_contains.encode()
        rule = Rule(fault, method, path, body_contains, nth, times, status)
        with self.lock:
            self.rules.append(rule)
        return rule

    def faulted(self) -> list[Exchange]:
        return [e for e in self.exchanges if e.fault != PASS]

    def start(self) -> FaultProxy:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- the proxying -----------------------------------------------------------------
    def _choose(self, method: str, path: str, body: bytes) -> Rule | None:
        with self.lock:
            chosen = None
            for rule in self.rules:
                if rule.picks(method, path, body) and chosen is None:
                    chosen = rule
            return chosen

    def _forward(self, request: HTTPMessage) -> HTTPMessage | None:
        """Send the request to the peer on a fresh connection and read its answer (None
        when the peer closed without one)."""
        with socket.create_connection(self.upstream, timeout=30) as upstream:
            upstream.sendall(request.raw)
            with upstream.makefile("rb") as stream:
                return read_message(stream, is_response=True)

    def _handler_class(self):
        proxy = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                while proxy._serve_one(self.connection, self.rfile):
                    pass

        return Handler

    def _serve_one(self, client: socket.socket, stream) -> bool:
        """Relay (or fault) one request; True to keep the client connection open."""
        request = read_message(stream, is_response=False)
        if request is None:
            return False
        method, target = request.first_line.split(" ")[:2]
        path = target.split("?", 1)[0]
        rule = self._choose(method, path, request.body)
        fault = rule.fault if rule else PASS
        exchange = Exchange(method, path, fault)
        with self.lock:
            self.exchanges.append(exchange)
        if fault == GATEWAY_ERROR:
            client.sendall(gateway_error(rule.status))
            return False
        answer = self._forward(request)
        exchange.answered = answer.first_line.encode() if answer else b""
        if answer is None:
            return False  # the peer dropped it; so do we
        if fault == PASS:
            client.sendall(answer.raw)
            return answer.headers.get("connection", "").lower() != "close"
        if fault == DELAY:
            time.sleep(self.delay)
            try:
                client.sendall(answer.raw)  # long after the client gave up
            except OSError:
                pass
        elif fault == RESET:
            client.sendall(answer.raw[: max(1, len(answer.raw) // 2)])
            # SO_LINGER 0: closing sends a RST instead of a FIN.
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.server.abort(client)
        elif fault == GATEWAY_ERROR_AFTER:
            client.sendall(gateway_error(rule.status))
        return False  # DROP (and every fault) ends the connection


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True

    def __init__(self, *args):
        super().__init__(*args)
        self.aborted: set[int] = set()

    def abort(self, connection: socket.socket) -> None:
        """Close `connection` without the usual half-close, so its RST is the first
        thing the client sees after the partial answer."""
        self.aborted.add(connection.fileno())

    def shutdown_request(self, request):
        if request.fileno() in self.aborted:
            self.aborted.discard(request.fileno())
            self.close_request(request)
            return
        super().shutdown_request(request)


def gateway_error(status: int) -> bytes:
    body = f"<html><body><h1>{status} {REASONS.get(status, 'Error')}</h1></body></html>"
    return (
        f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\n"
        "Content-Type: text/html\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
        f"{body}"
    ).encode()
