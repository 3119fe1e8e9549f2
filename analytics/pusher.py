"""The request path's event pusher: a tracking view's event goes to the Redis queue
with one RPUSH written before the response and confirmed with a batch of others once
the responses have gone out (EventPusher); without Redis, or when Redis refuses, the
event is stored in the database instead. An acknowledged event is never lost.

Public contract: enqueue_event(payload, confirm_after_response=...) for the tracking
views; confirm_pushes (after each request), flush_pushes (now, due or not).

Only the tracking views import this module, so only a web process that serves them
carries what it sets up, and nothing else (sending email, rendering, Celery workers)
does:
- when imported: a fork hook that gives a forked child fresh pushers
  (_start_afresh_after_fork) and the request_finished receiver that confirms the
  batches once the response went out (confirm_pushes);
- on the first push of the process: the confirmer thread (Confirmer) and the exit hook
  that confirms what is left.
"""

import atexit
import fcntl
import json
import logging
import math
import os
import select
import socket
import struct
import sys
import threading
import time

from django.conf import settings
from django.core.signals import request_finished, setting_changed
from django.db import connections
from django.dispatch import receiver

from .event_queue import queue_key, queue_url
from .events import store_events

logger = logging.getLogger(__name__)


# json.dumps(payload, separators=...) builds a new encoder on every call; payloads are
# flat, so there is no cycle to look for either.
_encode_payload = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode

PUSH_TIMEOUT_SECONDS = 5


class PushFailed(Exception):
    """The push could not be written: `payloads` are every push the pusher now holds
    unconfirmed (the failed one last), for the caller to store elsewhere."""

    def __init__(self, payloads: list[dict]):
        super().__init__(f"{len(payloads)} event push(es) could not be written")
        self.payloads = payloads


class EventPusher:
    """RPUSHes events to the queue on one connection of its own, for the request path.

    `push` writes the command before the response exists, so a click is acknowledged
    only once its push is in the kernel's hands on its way to Redis. `confirm` reads
    Redis's replies, after the response went out: a push Redis refused or never
    answered is stored in the database then, so it is not lost.

    On TCP the socket is corked (TCP_CORK) and pushes are confirmed in batches: up to
    ANALYTICS_PUSH_BATCH pushes or ANALYTICS_PUSH_MAX_WAIT_MS, whichever comes first,
    travel to Redis and are answered together (`confirm_if_due`, after each response).
    Measured under load, waking Redis for every click and waiting for its answer cost
    more than the push itself (bench/RESULTS.md); one wake-up per batch does not.

    What keeps a corked batch safe when its worker is killed: the kernel sends what a
    closed socket holds, but only while no reply lies unread in it (otherwise it resets
    the connection and drops the rest). So a batch never outgrows one TCP segment
    (the kernel sends full segments at once, and Redis would answer them), and the
    process's confirmer thread (Confirmer) confirms an idle worker's batch well before
    the kernel's own 200 ms cork limit sends it; should it be late, the next push finds
    the batch gone from the socket (or an answer, or a hang-up) and confirms the batch
    before it is written; so does a push into a socket Redis hung up on, which a kill
    would reset. A push the kernel sent at once (a segment by itself) is confirmed
    before its response. Exit confirms what is left. After Redis refuses a push, every
    push is confirmed by the end of its request for a minute.

    A batch size of 1, or a socket that cannot be corked (TLS, a Unix socket), confirms
    every push before the next one is written.

    redis-py opens and authenticates the connection (URL, AUTH, SELECT, TLS), speaking
    RESP2 with no server notifications, so the socket carries nothing but the replies
    to our pushes; the pushes then use the socket directly. The generic command path
    cost more CPU than the write and the read, and a socket with a Python timeout polls
    before every call; a plain socket here blocks, with the kernel enforcing the same
    timeout (SO_SNDTIMEO / SO_RCVTIMEO).
    """

    def __init__(self, url: str):
        self.url = url
        self.pending: list[dict] = []
        self.pending_bytes = 0
        self.batch_started = 0.0  # time.monotonic() of the first pending push
        self.batch_size = max(1, settings.ANALYTICS_PUSH_BATCH)
        # Below the kernel's 200 ms cork limit, which would send the batch by itself.
        self.max_wait = min(max(0, settings.ANALYTICS_PUSH_MAX_WAIT_MS), 150) / 1000
        # After Redis refused a push, each push is confirmed by the end of its request
        # for a while: a refusal in a batch is learned late, and a kill loses it.
        self.confirm_each_until = 0.0
        self.corked = False
        self.segment_bytes = 0  # what a batch may hold on the corked socket
        # Held while the socket or the batch is in use: the confirmer thread shares them.
        self.lock = threading.Lock()
        self.owner = threading.current_thread()
        self.client = None
        self.sock = None
        self.poller = None
        CONFIRMER.watch(self)

    def _connect(self):
        # On the first connection: the embedded default (no Redis) never needs redis-py.
        import redis
        from redis.maint_notifications import MaintNotificationsConfig

        self.close()
        self.client = redis.Redis.from_url(
            self.url,
            socket_timeout=PUSH_TIMEOUT_SECONDS,
            socket_connect_timeout=2,
            single_connection_client=True,  # connects now: raises if Redis is down
            protocol=2,
            maint_notifications_config=MaintNotificationsConfig(enabled=False),
        )
        self.client.connection.connect()  # a no-op when the pool already connected it
        sock = self.client.connection._sock
        if type(sock) is socket.socket:  # TLS sockets keep Python's own timeout
            sock.settimeout(None)
            seconds, fraction = divmod(PUSH_TIMEOUT_SECONDS, 1)
            timeout = struct.pack("ll", int(seconds), int(fraction * 1_000_000))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeout)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeout)
            if self.batch_size > 1 and _set_cork(sock, True):
                self.corked = True
                # TCP options take up to 40 bytes of a segment's MSS.
                self.segment_bytes = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG) - 40
                self.poller = select.poll()
                self.poller.register(sock, select.POLLIN | select.POLLRDHUP)
        self.sock = sock

    def close(self):
        if self.client is not None:
            self.client.close()
        self.client = self.sock = self.poller = None
        self.corked = False

    def commands(self, payloads: list[dict]) -> bytes:
        """The RPUSH commands of `payloads` onto the queue, as written to the socket."""
        key = queue_key().encode()
        commands = []
        for payload in payloads:
            data = _encode_payload(payload).encode()
            commands.append(
                b"*3\r\n$5\r\nRPUSH\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
                % (len(key), key, len(data), data)
            )
        return b"".join(commands)

    def _send(self, commands: bytes) -> None:
        if self.sock is None:
            self._connect()
        self.sock.sendall(commands)

    def _replies(self, count: int) -> list[bool]:
        """Whether Redis took each of the last `count` pushes (an RPUSH answers an
        integer, or an error line)."""
        if self.sock is None:
            raise ConnectionError("the push connection is closed")
        if self.corked:  # send what the cork holds; Redis answers once it has it
            _set_cork(self.sock, False)
        buffer = b""
        while buffer.count(b"\r\n") < count:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("Redis closed the connection")
            buffer += chunk
        if self.corked:
            _set_cork(self.sock, True)
        return [line.startswith(b":") for line in buffer.split(b"\r\n")[:count]]

    def push(self, payload: dict) -> None:
        """Write one push; raises PushFailed if it could not be written.

        A connection Redis closed while idle (its timeout, a restart) fails only
        when written to or read from; a failed write is retried once on a new one,
        with the unconfirmed pushes it may have swallowed (their uids make a second
        copy harmless)."""
        command = self.commands([payload])
        with self.lock:
            try:
                self._make_room(len(command))
                try:
                    self._send(command)
                except OSError:
                    self._connect()
                    self._send(self.commands(self.pending) + command)
            except Exception as exc:
                failed, self.pending, self.pending_bytes = [*self.pending, payload], [], 0
                self.close()
                raise PushFailed(failed) from exc
            self.pending.append(payload)
            self.pending_bytes += len(command)
            if not self.corked:
                return
            if self.pending_bytes > self.segment_bytes or self.batch_left_the_socket():
                self._confirm()  # the kernel sent it (or will): confirm before the 302
            elif len(self.pending) == 1:
                self.batch_started = time.monotonic()
                # After the append: the confirmer either sees the batch or is woken.
                CONFIRMER.batch_started(self.batch_started + self.max_wait)

    def _make_room(self, size: int) -> None:
        """Before a push is written: confirm the batch if the push must not be corked
        behind it, reconnect if Redis hung up."""
        if not self.corked:
            if self.pending:
                self._confirm()
        elif self.poller.poll(0):  # a reply came, or Redis hung up
            if self.pending:
                self._confirm()  # an EOF there pushes the batch again on a new connection
            else:
                self._connect()
        elif self.pending and (
            self.pending_bytes + size > self.segment_bytes or self.batch_left_the_socket()
        ):
            self._confirm()

    def batch_left_the_socket(self) -> bool:
        """Whether the kernel has sent any of the batch (a full segment, or its 200 ms
        cork limit): Redis will answer it, and an unread answer makes a killed worker's
        socket reset and drop what is still corked behind it."""
        unsent = fcntl.ioctl(self.sock.fileno(), _SIOCOUTQNSD, _INT)
        return int.from_bytes(unsent, sys.byteorder) < self.pending_bytes

    def is_due(self) -> bool:
        return bool(self.pending) and (
            not self.corked
            or len(self.pending) >= self.batch_size
            or time.monotonic() - self.batch_started >= self.max_wait
            or (self.confirm_each_until and time.monotonic() < self.confirm_each_until)
        )

    def confirm_if_due(self, blocking: bool = True) -> bool:
        """Confirm the pending batch if it is full or old enough; False when another
        thread holds the socket (only with blocking=False)."""
        if not self.is_due():
            return True
        if not self.lock.acquire(blocking):
            return False
        try:
            if self.is_due():
                self._confirm()
        finally:
            self.lock.release()
        return True

    def confirm(self) -> None:
        """Confirm every pending push now."""
        with self.lock:
            self._confirm()

    def _confirm(self) -> None:
        """Read the replies to the pushes written so far. Pushes the connection lost
        are pushed again once on a new connection; what Redis refused, or what cannot
        be pushed, is stored in the database. A timeout is not retried: Redis may have
        taken the push, so it is stored, and its uid makes the later drain a no-op."""
        pending, self.pending, self.pending_bytes = self.pending, [], 0
        if not pending:
            return
        try:
            taken = self._replies(len(pending))
        except (TimeoutError, BlockingIOError):  # SO_RCVTIMEO ran out (EAGAIN)
            self.close()
            taken = [False] * len(pending)
        except OSError:
            try:
                self._connect()
                self._send(self.commands(pending))
                taken = self._replies(len(pending))
            except Exception:  # noqa: BLE001 - whatever went wrong, the database takes them
                self.close()
                taken = [False] * len(pending)
        refused = [payload for payload, ok in zip(pending, taken, strict=True) if not ok]
        if refused:
            logger.warning("event queue refused %d event(s), storing them directly", len(refused))
            self.confirm_each_until = time.monotonic() + 60
            store_events_or_log(refused)


def store_events_or_log(payloads: list[dict]) -> None:
    """Store events whose responses already went out; if the database fails too, the
    log is the only place left, so an operator can replay them."""
    try:
        store_events(payloads)
    except Exception:
        logger.exception("events not recorded: %s", _encode_payload(payloads))


_INT = bytes(4)
_SIOCOUTQNSD = 0x894B  # Linux: bytes in a TCP socket's send queue not yet sent


def _set_cork(sock: socket.socket, on: bool) -> bool:
    """Cork or uncork a TCP socket (Linux); False where there is no such option."""
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, on)
    except (AttributeError, OSError):  # not Linux, or not TCP (a Unix socket)
        return False
    return True


class Confirmer:
    """The process's thread that confirms the corked batches nobody else will: a
    worker that pushed a click and then had no request for a while. It sleeps until the
    oldest pending batch is due; under load the requests themselves confirm every
    batch, a new batch is due after the one the thread waits for, and nothing wakes it
    early. It starts in the process that pushes, with its first pusher (watch); a
    forked child starts afresh (_start_afresh_after_fork).

    CONFIRMER is the process's one instance. Its `pushers` are every pusher of the
    process; `batch_started` is the thread's only wake-up, which hold() suspends.
    """

    def __init__(self):
        self._reset()

    def _reset(self):
        self.lock = threading.Lock()
        self.started = False
        # Strong references: a gthread worker's pool threads end before atexit runs,
        # and their pushers must still be confirmed then.
        self.pushers: set[EventPusher] = set()
        self.wakeup = threading.Event()
        self.next_check = math.inf  # monotonic time the thread wakes at; inf: asleep

    def watch(self, pusher: EventPusher) -> None:
        with self.lock:
            self.pushers.add(pusher)
            if not self.started:
                self.started = True
                threading.Thread(target=self._run, name="event-push-confirmer", daemon=True).start()
                atexit.register(self.confirm_all)

    def forget(self, pusher: EventPusher) -> None:
        with self.lock:
            self.pushers.discard(pusher)

    def _snapshot(self) -> list[EventPusher]:
        with self.lock:
            return list(self.pushers)

    def batch_started(self, due_at: float) -> None:
        """A batch due at `due_at` began: wake the thread if it would sleep past that."""
        if due_at < self.next_check:
            self.wakeup.set()

    def hold(self) -> None:
        """Until release(), new batches do not wake the thread, so nothing confirms a
        batch behind the caller's back: the requests, the next push, flush_pushes() and
        exit still do (and the thread still wakes when it had planned to). For tests
        that look at a batch before it is confirmed. The push path pays nothing for it:
        the wake-up itself is swapped, and the swap survives a fork."""
        self.batch_started = _stay_asleep

    def release(self) -> None:
        """Undo hold(): new batches wake the thread again."""
        vars(self).pop("batch_started", None)

    def confirm_all(self) -> None:
        """Confirm every pusher's batch now (at exit, and for tests)."""
        for pusher in self._snapshot():
            pusher.confirm()

    def _run(self) -> None:
        wakeup = self.wakeup
        while True:
            timeout = None if self.next_check == math.inf else self.next_check - time.monotonic()
            wakeup.wait(None if timeout is None else max(0.0, timeout))
            wakeup.clear()
            # While it looks, any new batch wakes it again, so none is missed.
            self.next_check = math.inf
            try:
                self.next_check = self._confirm_due()
            except Exception:  # noqa: BLE001 - the thread must outlive any one batch
                logger.exception("confirming batches of event pushes failed")
                self.next_check = time.monotonic() + 0.05

    def _confirm_due(self) -> float:
        """Confirm the corked batches that are due; when to look again."""
        next_check = math.inf
        confirmed = False
        for pusher in self._snapshot():
            if not pusher.owner.is_alive():  # its thread ended (runserver: per connection)
                if pusher.lock.acquire(blocking=False):
                    try:
                        pusher._confirm()
                        pusher.close()
                    finally:
                        pusher.lock.release()
                    self.forget(pusher)
                    confirmed = True
                continue
            if not (pusher.corked and pusher.pending):
                continue
            due_at = pusher.batch_started + pusher.max_wait
            if due_at > time.monotonic():
                next_check = min(next_check, due_at)
            elif pusher.confirm_if_due(blocking=False):
                confirmed = True
            else:  # a request is using the socket, and confirms it if it stays due
                next_check = min(next_check, time.monotonic() + 0.005)
        if confirmed:
            # This thread has no request around it: let go of the database connection
            # a refused batch may have opened.
            connections.close_all()
        return next_check


def _stay_asleep(due_at: float) -> None:
    """Confirmer.batch_started while the confirmer is held."""


CONFIRMER = Confirmer()


_PUSHERS = threading.local()


def _start_afresh_after_fork() -> None:
    """In a forked child the parent's pushers, their sockets and its confirmer thread
    are not ours: a connection opened before a fork must not be shared."""
    global _PUSHERS
    _PUSHERS = threading.local()
    CONFIRMER._reset()


os.register_at_fork(after_in_child=_start_afresh_after_fork)


def thread_pusher(url: str) -> EventPusher:
    """This thread's pusher for the queue at `url`."""
    by_url = getattr(_PUSHERS, "by_url", {})
    pusher = by_url.get(url)
    if pusher is None:
        for replaced in by_url.values():  # the queue URL changed (tests): keep its batch
            replaced.confirm()
            CONFIRMER.forget(replaced)
        pusher = EventPusher(url)
        _PUSHERS.by_url = {url: pusher}
    return pusher


def thread_pushers() -> list[EventPusher]:
    """This thread's pushers (one, for the queue it pushed to last; none before its
    first push, in a forked child, or after a push setting changed)."""
    return list(getattr(_PUSHERS, "by_url", {}).values())


# What a pusher reads from the settings when it is made.
_PUSHER_SETTINGS = {
    "ANALYTICS_REDIS_URL",
    "REDIS_URL",
    "ANALYTICS_PUSH_BATCH",
    "ANALYTICS_PUSH_MAX_WAIT_MS",
}


@receiver(setting_changed)
def _new_pushers_after_a_setting_change(setting, **kwargs):
    """When a push setting changes at run time (tests), this thread's pushers confirm
    their batches and close: its next push makes a pusher from the new settings."""
    if setting in _PUSHER_SETTINGS:
        for pusher in thread_pushers():
            CONFIRMER.forget(pusher)
            with pusher.lock:  # the confirmer thread may be confirming it right now
                pusher._confirm()
                pusher.close()
        _PUSHERS.by_url = {}


# The tracking views write their event's push before answering; once the response has
# gone out, a full or old batch of pushes is confirmed.
@receiver(request_finished, dispatch_uid="analytics-confirm-pushes")
def confirm_pushes(**kwargs) -> None:
    """Confirm this thread's pending pushes once their batch is due (connected to
    request_finished: runs after the WSGI server has sent the response)."""
    for pusher in getattr(_PUSHERS, "by_url", {}).values():
        pusher.confirm_if_due()


def flush_pushes() -> None:
    """Confirm every pending push of this process now, due or not."""
    CONFIRMER.confirm_all()


def enqueue_event(payload: dict, *, confirm_after_response: bool = False) -> None:
    """Record one event durably: RPUSH to Redis, or straight into the database when
    there is no Redis or Redis refuses.

    With confirm_after_response (the tracking views), the push is written now and
    confirmed with its batch after the response went out (confirm_pushes); only call
    it so while handling a request. Otherwise it is confirmed here.
    """
    url = queue_url()
    if url:
        pusher = thread_pusher(url)
        try:
            pusher.push(payload)
        except PushFailed as failure:
            logger.warning("event queue unavailable, storing event directly", exc_info=True)
            if earlier := failure.payloads[:-1]:  # their responses went out already
                store_events_or_log(earlier)
        else:
            if not confirm_after_response:
                pusher.confirm()
            return
    store_events([payload])
