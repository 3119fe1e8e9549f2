"""channels.http's size cap and deadline, against real servers on loopback: a gzip bomb
is refused after at most the cap of decoded bytes (memory stays far below what it
expands to), and a server dripping its answer is cut off at the request's deadline,
both turned into the contract's errors."""

from __future__ import annotations

import gzip
import socket
import threading
import time
import tracemalloc
import zlib

import httpx
import pytest

from channels.base import OutcomeUnknown, PublishError
from channels.http import ResponseTooLarge, fetch_bytes, guarded_client, send
from tests.factories import ChannelAccountFactory

from .fakes import FakeDiscourse, FakeWordPress
from .helpers import make_due, publish_error, run_attempts_until_settled
from .loopback import FakeService, Reply

EXPANDED = 64 * 1024 * 1024  # what the bomb decodes to
CAP = 1024 * 1024


def _compress(size: int, wbits: int) -> bytes:
    """`size` zero bytes compressed, without ever holding them all."""
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    block = bytes(1024 * 1024)
    parts = [packer.compress(block) for _ in range(size // len(block))]
    return b"".join(parts) + packer.flush()


GZIP_BOMB = _compress(EXPANDED, zlib.MAX_WBITS | 16)
DEFLATE_BOMB = _compress(EXPANDED, zlib.MAX_WBITS)


class Bomb(FakeService):
    """Answers every request with the bomb, as `coding`."""

    def __init__(self, body=GZIP_BOMB, coding="gzip", status=200):
        super().__init__()
        self.body, self.coding, self.status = body, coding, status

    def handle(self, request):
        return Reply(
            self.status,
            self.body,
            {"Content-Encoding": self.coding, "Content-Type": "application/json"},
        )


@pytest.fixture
def capped(settings):
    settings.OUTBOUND_HTTP_MAX_BYTES = CAP


def peak_memory(run) -> tuple[object, int]:
    """Run `run()`; return what it returned or raised, and the peak of traced memory."""
    tracemalloc.start()
    try:
        try:
            outcome = run()
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            outcome = exc
        return outcome, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_bomb_is_small_and_expands_far_past_the_cap():
    assert len(GZIP_BOMB) < 100 * 1024 < CAP < EXPANDED
    assert len(zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(GZIP_BOMB)) == EXPANDED


@pytest.mark.parametrize(
    "body, coding",
    [(GZIP_BOMB, "gzip"), (DEFLATE_BOMB, "deflate"), (gzip.compress(GZIP_BOMB), "gzip, gzip")],
    ids=["gzip", "deflate", "gzip-twice"],
)
def test_a_compression_bomb_read_is_refused_with_bounded_memory(loopback, capped, body, coding):
    server = loopback(Bomb(body, coding))
    with guarded_client(allow_internal=True) as client:
        error, peak = peak_memory(lambda: send(client, "GET", f"{server.url}/wp-json/x"))
    assert type(error) is PublishError and error.permanent is True
    assert f"larger than {CAP} bytes" in error.message
    assert peak < EXPANDED // 8, f"peak {peak} bytes"


def test_a_bomb_answering_a_create_is_outcome_unknown(loopback, capped):
    server = loopback(Bomb(status=201))
    with guarded_client(allow_internal=True) as client:
        error, peak = peak_memory(lambda: send(client, "POST", f"{server.url}/posts", json={}))
    assert isinstance(error, OutcomeUnknown)
    assert peak < EXPANDED // 8


def test_a_feed_fetch_stops_at_its_own_limit(loopback, capped):
    server = loopback(Bomb())
    error, peak = peak_memory(lambda: fetch_bytes(f"{server.url}/feed", True, 64 * 1024))
    assert isinstance(error, ResponseTooLarge) and isinstance(error, httpx.HTTPError)
    assert peak < EXPANDED // 8


def test_an_uncompressed_answer_over_the_cap_is_refused_too(loopback, capped):
    server = loopback(Bomb())
    server.service.handle = lambda request: Reply(200, bytes(CAP + 1))
    with guarded_client(allow_internal=True) as client:
        error = publish_error(send, client, "GET", f"{server.url}/big")
    assert f"larger than {CAP} bytes" in error.message


def test_ordinary_compressed_answers_still_read_in_full(loopback, capped):
    document = b'{"posts": [' + b",".join(b'{"id": %d}' % i for i in range(50_000)) + b"]}"
    assert CAP // 2 < len(document) < CAP
    server = loopback(Bomb(gzip.compress(document), "gzip"))
    with guarded_client(allow_internal=True) as client:
        response = send(client, "GET", f"{server.url}/posts")
    assert response.content == document and len(response.json()["posts"]) == 50_000
    assert "content-encoding" not in response.headers  # decoded here, not by httpx


def test_test_connection_reports_a_bomb_without_swallowing_it(client, marketer, loopback, capped):
    server = loopback(FakeDiscourse())
    server.faults.append(
        Reply(200, GZIP_BOMB, {"Content-Encoding": "gzip", "Content-Type": "application/json"})
    )
    account = ChannelAccountFactory(
        kind="forum/discourse",
        is_internal=True,
        settings={"base_url": server.url, "api_username": "system", "category": "News"},
        secrets={"api_key": "k-123"},
    )
    client.force_login(marketer)
    response, peak = peak_memory(
        lambda: client.post(f"/admin/channels/{account.pk}/test/", follow=True)
    )
    page = response.content.decode()
    assert "Connection failed" in page and f"larger than {CAP} bytes" in page
    assert peak < EXPANDED // 8


class BombAfterCreate(FakeWordPress):
    """Stores the post, then answers the create with a gzip bomb."""

    def handle(self, r):
        reply = super().handle(r)
        if r.method == "POST" and r.path.endswith("/posts") and reply.status == 201:
            return Reply(201, GZIP_BOMB, {"Content-Encoding": "gzip"})
        return reply


@pytest.mark.django_db
def test_a_wordpress_create_answered_by_a_bomb_is_found_not_posted_twice(
    loopback, make_publication, capped
):
    wp = loopback(BombAfterCreate())
    publication = make_publication(
        "blog/wordpress",
        settings={"base_url": wp.url, "username": "editor"},
        secrets={"application_password": "abcd efgh ijkl mnop"},
    )
    make_due(publication)
    results, peak = peak_memory(lambda: run_attempts_until_settled(publication))
    assert results == ["unknown", "found"]
    assert len(wp.service.live_posts()) == 1
    assert publication.status == "published"
    assert peak < EXPANDED // 8


# --- the deadline -----------------------------------------------------------------------


class DripServer:
    """A raw HTTP/1.1 server on loopback that answers every request one byte every
    `interval` seconds: the head too when `drip_head`, else only the body."""

    def __init__(self, interval=0.2, body_length=60, drip_head=False):
        self.interval, self.body_length, self.drip_head = interval, body_length, drip_head
        self.requests = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped.is_set():
            try:
                conn, _addr = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                data = conn.recv(65536)
                if not data:
                    return
                head += data
            self.requests += 1
            answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
            answer += b"Content-Length: %d\r\n\r\n" % self.body_length
            if not self.drip_head:
                conn.sendall(answer)
                answer = b""
            answer += b" " * self.body_length
            try:
                for i in range(len(answer)):
                    if self.stopped.is_set():
                        return
                    conn.sendall(answer[i : i + 1])
                    time.sleep(self.interval)
            except OSError:
                return  # the client gave up

    def stop(self):
        self.stopped.set()
        self.listener.close()


@pytest.fixture
def drip():
    servers = []

    def start(**kwargs):
        server = DripServer(**kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


DEADLINE = 1.0


@pytest.fixture
def short_deadline(settings):
    # Each byte comes well within the per-phase timeout: only the deadline can stop it.
    settings.OUTBOUND_HTTP_TIMEOUT = 5.0
    settings.OUTBOUND_HTTP_DEADLINE = DEADLINE


def timed(run):
    started = time.monotonic()
    try:
        outcome = run()
    except Exception as exc:  # noqa: BLE001 - the test looks at it
        outcome = exc
    return outcome, time.monotonic() - started


@pytest.mark.parametrize("drip_head", [False, True], ids=["body", "head"])
def test_a_dripping_read_is_cut_at_the_deadline(drip, short_deadline, drip_head):
    server = drip(drip_head=drip_head)
    with guarded_client(allow_internal=True) as client:
        error, elapsed = timed(lambda: send(client, "GET", f"{server.url}/feed"))
    assert type(error) is PublishError and error.permanent is False
    assert "did not answer in time" in error.message
    assert elapsed < DEADLINE * 2


def test_a_dripping_answer_to_a_create_is_outcome_unknown(drip, short_deadline):
    server = drip()
    with guarded_client(allow_internal=True) as client:
        error, elapsed = timed(lambda: send(client, "POST", f"{server.url}/posts", json={}))
    assert isinstance(error, OutcomeUnknown)
    assert server.requests == 1 and elapsed < DEADLINE * 2


def test_a_dripping_feed_fetch_is_cut_at_the_deadline(drip, short_deadline):
    server = drip()
    error, elapsed = timed(lambda: fetch_bytes(f"{server.url}/feed", allow_internal=True))
    assert isinstance(error, httpx.TimeoutException)
    assert elapsed < DEADLINE * 2


def test_a_deadline_passed_before_sending_leaves_nothing_unknown(drip, short_deadline, monkeypatch):
    """A name that takes longer to resolve than the deadline: nothing was sent, so even
    a create is a plain transient error (the service may simply try again)."""
    server = drip()
    real = socket.getaddrinfo

    def slow_dns(host, *args, **kwargs):
        if host == "slow.example":
            time.sleep(DEADLINE * 3)
            return real("127.0.0.1", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow_dns)
    with guarded_client(allow_internal=True) as client:
        error, elapsed = timed(
            lambda: send(client, "POST", f"http://slow.example:{server.port}/posts", json={})
        )
    assert type(error) is PublishError and error.permanent is False
    assert server.requests == 0 and elapsed < DEADLINE * 2


def test_the_deadline_is_per_request(drip, settings):
    """Requests on one client each get the whole deadline, one after the other."""
    settings.OUTBOUND_HTTP_DEADLINE = 1.0
    server = drip(interval=0.05, body_length=10)  # about 0.5 s each
    with guarded_client(allow_internal=True) as client:
        for _ in range(3):
            assert send(client, "GET", f"{server.url}/x").content == b" " * 10
