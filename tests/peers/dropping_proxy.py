"""A loopback TCP proxy in front of an HTTP server that can lose one answer.

It forwards each request as it came, reads the server's whole answer and, for the one
request `drop` picks, closes the client's connection instead of passing the answer on:
the server did the work, the client never hears of it (a proxy timing out, a mobile
network vanishing). Made for servers that close the connection after each answer, as
PHP's built-in server does, so one connection carries one request.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def _read_until_closed(conn: socket.socket) -> bytes:
    chunks = []
    while chunk := conn.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


class AnswerDroppingProxy:
    """`with AnswerDroppingProxy(port, drop) as proxy:` then talk to `proxy.url`.

    `drop(request_bytes)` says whether to lose this request's answer; it is asked until
    it first says yes, and `dropped_answers` keeps what the client never saw.
    """

    def __init__(self, upstream_port: int, drop: Callable[[bytes], bool]):
        self.upstream = ("127.0.0.1", upstream_port)
        self.drop = drop
        self.dropped_answers: list[bytes] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        # accept() in another thread does not notice the listener closing: it polls.
        self._listener.settimeout(0.1)
        self._stopping = threading.Event()
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> AnswerDroppingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _address = self._listener.accept()
            except TimeoutError:
                continue
            client.settimeout(30)
            # One at a time is enough: the adapters make one request after another.
            with client:
                self._relay(client)

    def _relay(self, client: socket.socket) -> None:
        request = _read_request(client)
        if not request:
            return
        with socket.create_connection(self.upstream, timeout=30) as upstream:
            upstream.sendall(request)
            answer = _read_until_closed(upstream)
        if not self.dropped_answers and self.drop(request):
            self.dropped_answers.append(answer)
            return  # closing without a byte: the client sees the connection drop
        client.sendall(answer)
