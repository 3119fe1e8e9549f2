"""The drill's loopback "remote channel": the HTTP peer the drill adapter posts to, and the
faults it can put into its own answers.

`ChannelServer` keeps posts like a real API would: POST /posts creates one (a new id each
time, even for a key it has seen, so a duplicate shows as a second post) and GET
/posts?key=... lists the posts carrying that idempotency key (what `find_existing` asks
after an unknown outcome). The drills count at this peer, per key, outside our database.

With an `AnswerFaults` plan set, the peer loses answers the way networks and gateways do,
always AFTER it stored the post: the client's socket is really closed or reset, or the
answer comes after the client stopped waiting, or a 502 comes instead. The client cannot
tell these from "nothing happened"; only a lookup can.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import json
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from .infra import free_port

# The ways a create call's answer is lost, in the order `AnswerFaults` deals them out.
CREATE_FAULTS = ("close", "reset", "delay", "bad_gateway")


class AnswerFaults:
    """Which answers the peer loses, chosen by the order calls arrive, so every kind of
    fault lands in every run. Of every `cycle` create calls, the first four lose their
    answer, one way each (`CREATE_FAULTS`), after the post was stored:

    * close: the connection is closed without a byte (the client reads end-of-file);
    * reset: the connection is reset (RST; the client's read fails);
    * delay: the answer is held `delay_seconds`, past the client's timeout;
    * bad_gateway: a 502, as from a gateway that forwarded the request and lost the answer.

    Every `lookup_every`-th lookup loses its answer too (closed), at most once per key, so
    a lookup that fails must not lead to posting again, and a post needs at most one
    failed create and one failed lookup before a lookup finds it.
    """

    def __init__(self, cycle: int = 10, delay_seconds: float = 5.0, lookup_every: int = 5):
        self.cycle, self.delay_seconds, self.lookup_every = cycle, delay_seconds, lookup_every
        self.counts: collections.Counter[str] = collections.Counter()
        self._lookup_faulted: set[str] = set()
        self._held: dict[int, float] = {}  # answers being held: token -> when received
        self._tokens = itertools.count()
        self._lock = threading.Lock()

    def for_create(self) -> str:
        """The fault for the create call arriving now, or "answer"."""
        with self._lock:
            position = self.counts["creates"] % self.cycle
            self.counts["creates"] += 1
            fault = CREATE_FAULTS[position] if position < len(CREATE_FAULTS) else "answer"
            self.counts[fault] += 1
        return fault

    def for_lookup(self, key: str, found: bool) -> str:
        """The fault for a lookup of `key` arriving now ("close"), or "answer"."""
        with self._lock:
            self.counts["lookups"] += 1
            if self.counts["lookups"] % self.lookup_every == 0 and key not in self._lookup_faulted:
                self._lookup_faulted.add(key)
                self.counts["lookup_answers_lost"] += 1
                return "close"
            if found:
                self.counts["lookups_found"] += 1
        return "answer"

    @contextlib.contextmanager
    def holding(self):
        """Count an answer as held (being delayed) while the block runs."""
        with self._lock:
            token = next(self._tokens)
            self._held[token] = time.monotonic()
        try:
            yield
        finally:
            with self._lock:
                del self._held[token]

    def held_for_less_than(self, seconds: float) -> int:
        """How many answers are being held and were received less than `seconds` ago
        (their clients are still waiting for them)."""
        cutoff = time.monotonic() - seconds
        with self._lock:
            return sum(1 for received in self._held.values() if received > cutoff)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counts)


class ChannelServer:
    """A loopback "remote channel" for the drill adapter (see the module docstring).
    Set `faults` to an AnswerFaults plan to lose answers; None answers everything."""

    def __init__(self):
        self.posts: dict[str, list[dict]] = collections.defaultdict(list)
        self.lock = threading.Lock()
        self.port = free_port()
        self.server = None
        self.faults: AnswerFaults | None = None
        self._ids = itertools.count(1)

    def create(self, key: str, title: str) -> dict:
        with self.lock:
            post = {"id": next(self._ids), "key": key, "title": title}
            self.posts[key].append(post)
        return post

    def find(self, key: str) -> list[dict]:
        with self.lock:
            return list(self.posts.get(key, ()))

    def start(self):
        self.server = _Server(("127.0.0.1", self.port), _handler_for(self))
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def reset(self):
        with self.lock:
            self.posts.clear()

    def snapshot(self) -> collections.Counter:
        """Posts per idempotency key."""
        with self.lock:
            return collections.Counter({key: len(posts) for key, posts in self.posts.items()})

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # A burst opens connections faster than one accept loop takes them; the default
    # backlog of 5 would have the kernel drop SYNs, a fault we did not mean to inject.
    request_queue_size = 128


def _handler_for(channel: ChannelServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = self._json_body()
            if urlsplit(self.path).path != "/posts" or not isinstance(body, dict):
                self._reply(400, {"error": "expected a JSON object at /posts"})
                return
            post = channel.create(str(body.get("key", "")), str(body.get("title", "")))
            fault = channel.faults.for_create() if channel.faults else "answer"
            self._answer(fault, 201, post)

        def do_GET(self):
            url = urlsplit(self.path)
            if url.path != "/posts":
                self._reply(404, {"error": "not found"})
                return
            key = parse_qs(url.query).get("key", [""])[0]
            posts = channel.find(key)
            fault = channel.faults.for_lookup(key, bool(posts)) if channel.faults else "answer"
            self._answer(fault, 200, posts)

        def _json_body(self):
            try:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                return json.loads(raw)
            except (ValueError, OSError):
                return None

        def _answer(self, fault: str, status: int, payload) -> None:
            if fault == "close":
                self.close_connection = True  # the server closes it without a byte
                return
            if fault == "reset":
                # Linger 0: close() sends RST instead of FIN.
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.connection.close()
                self.close_connection = True
                return
            if fault == "delay":
                with channel.faults.holding():
                    time.sleep(channel.faults.delay_seconds)
            elif fault == "bad_gateway":
                status, payload = 502, {"error": "bad gateway"}
            with contextlib.suppress(OSError):  # a client that gave up has closed it
                self._reply(status, payload)

        def _reply(self, status: int, payload) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


__all__ = ["CREATE_FAULTS", "AnswerFaults", "ChannelServer"]
