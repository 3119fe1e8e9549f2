"""Marking delivery rows sent at the moment their message is handed to the SMTP server.

Each row is marked "sent" in its own commit, between the message's content and its
end-of-data, so a killed worker never causes a second copy (see SentMarks).
"""

from __future__ import annotations

import contextlib
import select
import socket

from django.db import DatabaseError, connection
from django.utils import timezone
from psycopg import pq

from .models import Delivery

_MARK_SENT_SQL = (
    f"UPDATE {Delivery._meta.db_table} SET status = %s, sent_at = %s, message_id = %s"
    " WHERE id = %s AND claim_token = %s"
)
# The same statement with libpq's numbered parameters, for SentMarks' raw sends.
_MARK_SENT_PG = (
    f"UPDATE {Delivery._meta.db_table} SET status = $1, sent_at = $2, message_id = $3"
    " WHERE id = $4 AND claim_token = $5"
).encode()
_UNMARK_SQL = (
    f"UPDATE {Delivery._meta.db_table} SET status = %s, sent_at = NULL, message_id = ''"
    " WHERE id = %s AND claim_token = %s"
)


def _wait_for(fd: int, events: int) -> None:
    """Block until the database socket is ready. poll, not select: select() refuses a
    descriptor numbered 1024 or more, which a busy worker (or a long test run) reaches."""
    poller = select.poll()
    poller.register(fd, events)
    poller.poll()


@contextlib.contextmanager
def fast_commits():
    """A sending worker commits one row per message. With asynchronous commit each is
    durable against the worker dying (what we guard against) without waiting for a WAL
    flush; a database crash could at worst lose the last few marks."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")


class SentMarks:
    """Marks delivery rows sent, one commit per message, at the moment the message is
    handed to the SMTP server: after its content is written and right before its
    end-of-data (MessageStream.end_message calls `mark` just before that write).

    A worker killed before the mark leaves a row that is sent again and a message the
    server discards (its DATA never ended); killed after both writes, a row marked sent
    and a message the server has. So a killed worker never causes a second copy. What
    is left is the gap between the two writes, in which a kill would lose a message;
    `mark` keeps that gap to a few instructions: on PostgreSQL over TCP the UPDATE is
    written to a corked socket (TCP_CORK), so it wakes no database process that could
    take the CPU before our next write; `flush` then uncorks it. The kernel sends corked
    data on close, so a worker killed in between still gets its mark committed.
    A worker that lives to see a refusal or a broken connection takes the mark back
    (`unmark`).

    The result is read later (`wait`), so the database works while the SMTP server
    does: PostgreSQL runs and commits a statement it has received even if the client
    is gone by then. Elsewhere (SQLite) the mark is an ordinary statement.
    """

    def __init__(self, token: str):
        self.token = token
        connection.ensure_connection()
        self.pgconn = connection.connection.pgconn if connection.vendor == "postgresql" else None
        self.cursor = None if self.pgconn is not None else connection.cursor()
        self.in_flight = False
        self._tcp = None  # the database socket, when it is TCP (a Unix socket has no cork)
        if self.pgconn is not None:
            sock = socket.fromfd(self.pgconn.socket, socket.AF_INET, socket.SOCK_STREAM)
            try:
                sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_CORK)
                self._tcp = sock
            except OSError:
                sock.close()

    def mark(self, delivery_id: int, message_id: str) -> None:
        now = timezone.now()
        if self.pgconn is None:
            self.cursor.execute(
                _MARK_SENT_SQL, [Delivery.Status.SENT, now, message_id, delivery_id, self.token]
            )
            return
        pg = self.pgconn
        params = [Delivery.Status.SENT.value, now.isoformat(), message_id, str(delivery_id)]
        if self._tcp is not None:
            self._tcp.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
        pg.send_query_params(_MARK_SENT_PG, [p.encode() for p in [*params, self.token]])
        while pg.flush():
            _wait_for(pg.socket, select.POLLOUT)
        self.in_flight = True

    def flush(self) -> None:
        """Let the mark written by `mark` go to the database now."""
        if self._tcp is not None and self.in_flight:
            self._tcp.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 0)

    def wait(self) -> None:
        """Read the result of the mark in flight, if any."""
        if not self.in_flight:
            return
        self.flush()
        self.in_flight = False
        pg = self.pgconn
        pg.consume_input()
        while pg.is_busy():
            _wait_for(pg.socket, select.POLLIN)
            pg.consume_input()
        error = None
        while (result := pg.get_result()) is not None:
            if result.status != pq.ExecStatus.COMMAND_OK:
                error = result.error_message.decode("utf-8", "replace")
        if error:
            raise DatabaseError(error)

    def unmark(self, delivery_id: int) -> None:
        """The server refused the message or the connection broke before its reply:
        the row is ours ("sending") again, for the caller to record or release."""
        self.wait()
        with connection.cursor() as cursor:
            cursor.execute(_UNMARK_SQL, [Delivery.Status.SENDING, delivery_id, self.token])

    def close(self) -> None:
        self.wait()
        if self.cursor is not None:
            self.cursor.close()
        if self._tcp is not None:
            self._tcp.close()  # a duplicate of the descriptor: the connection stays open
