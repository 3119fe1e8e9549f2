"""Click tracking: tracked links, message tokens, event recording and the queue drainer.

Public contract (see /tmp/interfaces.md; other apps call these):

- tracked_url(url, *, publication, campaign, page, channel, medium) -> str
- rewrite_links(html, *, ...) -> str
- message_token(publication_id, recipient_key) -> str
- open_pixel_url(token) -> str
- record_events(events) -> int

How events flow: the redirect, pixel and beacon views build a small JSON payload and
`enqueue_event` pushes it onto a Redis list (one RPUSH, written before the response
and confirmed with a batch of others once the responses have gone out: EventPusher).
`drain_event_queue` (Celery beat, every few seconds) moves batches to a processing list atomically, stores
them with `store_events` and only then deletes the processing list, so a crash anywhere
re-drains the batch and the unique `uid` makes the second insert a no-op: an
acknowledged event is never lost nor counted twice. Without REDIS_URL (the embedded
default) `enqueue_event` stores straight to the database.
"""

import atexit
import base64
import collections
import datetime
import fcntl
import functools
import hashlib
import html as html_lib
import json
import logging
import math
import os
import re
import secrets
import select
import socket
import struct
import sys
import threading
import time
import uuid
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.core.signals import setting_changed
from django.db import IntegrityError, connection, connections, router, transaction
from django.db.models import Q
from django.dispatch import receiver
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from . import classify
from .models import DailySalt, Event, TrackedLink

logger = logging.getLogger(__name__)

# secrets.token_urlsafe(12): 16 characters, 96 random bits - unguessable, and short.
CODE_LENGTH = 16
CODE_RE = re.compile(r"\A[A-Za-z0-9_-]{16}\Z")
TOKEN_RE = re.compile(r"\A[A-Za-z0-9_-]{1,400}\.[A-Za-z0-9_-]{16}\Z")

# Default utm_medium per channel family when the caller gives none.
MEDIUM_BY_CHANNEL = {
    "email": "email",
    "ezine": "email",
    "forum": "social",
    "blog": "referral",
    "manual": "referral",
}

RECORDABLE_KINDS = {"send", "delivery", "bounce", "complaint", "unsubscribe"}

# Scanner heuristics (issue 6): a click this soon after delivery is a machine.
FAST_CLICK_SECONDS = 2.0
# Events this recent may still be re-flagged as scanner clicks; the rollup waits
# longer than this before counting an event (ANALYTICS_ROLLUP_LAG_SECONDS).
REFLAG_WINDOW_SECONDS = 30


class InvalidDestination(ValueError):
    """The URL cannot be a tracked link's destination (not an absolute http(s) URL)."""


# --- Tracked links ---------------------------------------------------------------------


def validate_destination(url: str) -> str:
    """Return `url` if it is a safe absolute http(s) URL, else raise InvalidDestination.

    Control characters, whitespace and backslashes are refused outright: browsers
    "fix" them in ways that change the host (CRLF injection, `https:\\\\evil.com`).
    """
    if not isinstance(url, str):
        raise InvalidDestination("not a string")
    url = url.strip()
    if not url or len(url) > 2000:
        raise InvalidDestination("empty or longer than 2000 characters")
    if any(ord(ch) <= 0x20 or ord(ch) == 0x7F for ch in url) or "\\" in url:
        raise InvalidDestination("contains whitespace, control characters or a backslash")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise InvalidDestination(str(exc)) from exc
    if parts.scheme.lower() not in ("http", "https") or not host or not parts.netloc:
        raise InvalidDestination("only absolute http and https URLs can be tracked")
    if "@" in parts.netloc:
        raise InvalidDestination("user names in URLs are refused (phishing)")
    return url


def merge_utm(url: str, *, source: str, medium: str, campaign: str, content: str) -> str:
    """Add UTM parameters to `url`. Existing query parameters are kept byte for byte,
    including any utm_* the author already set (their explicit choice wins)."""
    parts = urlsplit(url)
    present = {key for key, _ in parse_qsl(parts.query, keep_blank_values=True)}
    extra = [
        (key, value)
        for key, value in (
            ("utm_source", source),
            ("utm_medium", medium),
            ("utm_campaign", campaign),
            ("utm_content", content),
        )
        if value and key not in present
    ]
    if not extra:
        return url
    query = "&".join(filter(None, [parts.query, urlencode(extra)]))
    return urlunsplit(parts._replace(query=query))


def _pk(obj) -> int:
    if obj is None or obj == "":
        return 0
    return int(getattr(obj, "pk", obj))


def get_or_create_tracked_link(
    url: str,
    *,
    publication=None,
    campaign=None,
    page=None,
    channel: str = "",
    medium: str = "",
    label: str = "",
    created_by=None,
) -> TrackedLink:
    """The tracked link for this destination and placement, created on first use.

    Idempotent: the same (publication, campaign, page, channel, medium, label, url)
    returns the same row, also under concurrent calls. Raises InvalidDestination.
    """
    from campaigns.models import Campaign, Publication

    url = validate_destination(url)
    if publication is not None and not isinstance(publication, Publication):
        publication = Publication.objects.select_related("campaign", "channel_account").get(
            pk=_pk(publication)
        )
    if publication is not None:
        campaign = campaign or publication.campaign
        page = page or publication.page_id
        channel = channel or publication.channel_account.channel
    if campaign is not None and not isinstance(campaign, Campaign):
        campaign = Campaign.objects.get(pk=_pk(campaign))
    channel = (channel or "")[:40]
    medium = (medium or MEDIUM_BY_CHANNEL.get(channel, "referral" if channel else ""))[:40]
    page_id = _pk(page)
    identity = "|".join(
        [str(_pk(publication)), str(_pk(campaign)), str(page_id), channel, medium, label, url]
    )
    link_key = hashlib.sha256(identity.encode()).hexdigest()
    existing = TrackedLink.objects.filter(link_key=link_key).first()
    if existing is not None:
        return existing
    destination = merge_utm(
        url,
        source=channel,
        medium=medium,
        campaign=campaign.slug if campaign is not None else "",
        content=str(page_id) if page_id else "",
    )
    try:
        with transaction.atomic():
            return TrackedLink.objects.create(
                code=secrets.token_urlsafe(12),
                link_key=link_key,
                original_url=url,
                destination=destination,
                campaign=campaign,
                publication=publication,
                page_id=page_id or None,
                channel=channel,
                medium=medium,
                label=label[:200],
                created_by=created_by,
            )
    except IntegrityError:
        # A concurrent caller created it first (or, with odds of 2**-96, a code clash).
        return TrackedLink.objects.get(link_key=link_key)


def tracked_url(url, *, publication=None, campaign=None, page=None, channel="", medium="") -> str:
    """Absolute `<SITE_BASE_URL>/t/<code>` URL redirecting to `url` with UTM added.
    Raises InvalidDestination for anything but an absolute http(s) URL."""
    return get_or_create_tracked_link(
        url, publication=publication, campaign=campaign, page=page, channel=channel, medium=medium
    ).short_url


_HREF_RE = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)


def rewrite_links(html, *, publication=None, campaign=None, page=None, channel="", medium=""):
    """Every http(s) `<a href>` in `html` replaced by its tracked URL; everything else
    (mailto:, relative links, template placeholders, already tracked links, URLs that
    fail validation) is left exactly as it was."""
    if not html:
        return html
    own_prefix = f"{settings.SITE_BASE_URL.rstrip('/')}/t/"
    done: dict[str, str] = {}

    def replace(match):
        raw = match.group(3)
        url = html_lib.unescape(raw).strip()
        if not url.lower().startswith(("http://", "https://")) or url.startswith(own_prefix):
            return match.group(0)
        if url not in done:
            try:
                done[url] = tracked_url(
                    url,
                    publication=publication,
                    campaign=campaign,
                    page=page,
                    channel=channel,
                    medium=medium,
                )
            except InvalidDestination:
                logger.info("not tracking invalid link %r", url[:200])
                done[url] = ""
        if not done[url]:
            return match.group(0)
        return f"{match.group(1)}{match.group(2)}{html_lib.escape(done[url])}{match.group(2)}"

    return _HREF_RE.sub(replace, str(html))


# --- Message tokens ----------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _token_signature(payload: str, secret: str) -> str:
    return _b64(salted_hmac("analytics.message", payload, secret=secret).digest()[:12])


def message_token(publication_id, recipient_key) -> str:
    """A signed, URL-safe token naming one message (one recipient of one publication)."""
    payload = f"{int(publication_id)}:{recipient_key}"
    return f"{_b64(payload.encode())}.{_token_signature(payload, settings.SECRET_KEY)}"


def parse_message_token(token) -> tuple[int, str] | None:
    """(publication_id, recipient_key) of a valid token, None for anything else.
    Tokens signed with a key in SECRET_KEY_FALLBACKS still verify after a rotation."""
    if not isinstance(token, str) or not TOKEN_RE.match(token):
        return None
    encoded, signature = token.split(".", 1)
    try:
        payload = _unb64(encoded).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    secrets_to_try = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    if not any(
        constant_time_compare(signature, _token_signature(payload, s)) for s in secrets_to_try
    ):
        return None
    pid, _, recipient_key = payload.partition(":")
    if not pid.isdigit():
        return None
    return int(pid), recipient_key


def open_pixel_url(token: str) -> str:
    """URL of the 1x1 open-tracking GIF for the message `token` names."""
    return f"{settings.SITE_BASE_URL.rstrip('/')}/t/o/{token}"


# --- Request-side recording --------------------------------------------------------------

_SALTS: dict[datetime.date, str] = {}
# [start, end) of the UTC day last seen by event_day, as POSIX timestamps, and that day:
# the request path compares two floats instead of building a datetime per request.
_DAY_BOUNDS: tuple[float, float, datetime.date | None] = (0.0, 0.0, None)


def daily_salt(day: datetime.date) -> str:
    """The random salt of `day`, created on first use (process-cached)."""
    salt = _SALTS.get(day)
    if salt is None:
        try:
            with transaction.atomic():
                obj, _ = DailySalt.objects.get_or_create(
                    day=day, defaults={"salt": secrets.token_hex(32)}
                )
        except IntegrityError:
            obj = DailySalt.objects.get(day=day)
        salt = obj.salt
        if len(_SALTS) > 4:
            _SALTS.clear()
        _SALTS[day] = salt
    return salt


def event_day(timestamp: float) -> datetime.date:
    """The UTC date of a POSIX timestamp (the day a visitor hash belongs to)."""
    global _DAY_BOUNDS
    start, end, day = _DAY_BOUNDS
    if not start <= timestamp < end:
        day = datetime.datetime.fromtimestamp(timestamp, datetime.UTC).date()
        start = datetime.datetime.combine(day, datetime.time(), datetime.UTC).timestamp()
        _DAY_BOUNDS = (start, start + 86400, day)
    return day


def visitor_hash(ip: str, user_agent: str, day: datetime.date | None = None) -> str:
    """Salted daily hash of address and browser: counts unique visitors per day without
    storing the address. The salt is deleted after two days (purge_old_salts)."""
    day = day or timezone.now().date()
    digest = hashlib.sha256(f"{daily_salt(day)}|{ip}|{user_agent}".encode()).hexdigest()
    return digest[:32]


def purge_old_salts(keep_days: int = 2) -> int:
    cutoff = timezone.now().date() - datetime.timedelta(days=keep_days)
    deleted, _ = DailySalt.objects.filter(day__lt=cutoff).delete()
    _SALTS.clear()
    return deleted


def request_event(request, kind: str, **fields) -> dict:
    """The queue payload for an event seen on `request` (no raw address kept)."""
    meta = request.META
    user_agent = meta.get("HTTP_USER_AGENT", "")[:300]
    now = time.time()
    # The three headers the classifier reads, straight from META: request.headers
    # would build a mapping of every header of the request just for them.
    headers = {
        "Sec-Purpose": meta.get("HTTP_SEC_PURPOSE"),
        "Purpose": meta.get("HTTP_PURPOSE"),
        "X-Moz": meta.get("HTTP_X_MOZ"),
    }
    payload = {
        # 128 random bits as 32 hex characters, like uuid4().hex at a quarter the cost.
        "u": os.urandom(16).hex(),
        "k": kind,
        "t": now,
        "a": user_agent,
        "v": visitor_hash(meta.get("REMOTE_ADDR", ""), user_agent, event_day(now)),
        "b": classify.bot_reason_for_request(user_agent, request.method, headers),
    }
    payload.update({k: v for k, v in fields.items() if v not in (None, "")})
    return payload


class LinkCache:
    """A bounded, least-recently-used map of code -> (link id, destination).

    Destinations never change after creation, so an entry never goes stale; the bound
    only caps memory (an entry with a typical destination is about 0.4 kB). Safe to
    share between threads.
    """

    def __init__(self, max_size: int):
        self.max_size = max_size
        self._entries: collections.OrderedDict[str, tuple[int, str]] = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, code: str) -> tuple[int, str] | None:
        with self._lock:
            hit = self._entries.get(code)
            if hit is not None:
                self._entries.move_to_end(code)
            return hit

    def put(self, code: str, link: tuple[int, str]) -> None:
        with self._lock:
            self._entries[code] = link
            self._entries.move_to_end(code)
            while len(self._entries) > self.max_size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, code) -> bool:
        return code in self._entries


# The links of recent sends fit; the bound is what a web process may spend on them
# (an entry is about 0.4 kB: ~40 MB at the default). ANALYTICS_LINK_CACHE_SIZE sets it.
LINK_CACHE_SIZE = settings.ANALYTICS_LINK_CACHE_SIZE
_LINK_CACHE = LinkCache(LINK_CACHE_SIZE)


def warm_link_cache() -> int:
    """Load the newest links (as many as the cache holds) into this process's cache;
    returns how many.

    gunicorn's master calls this once before forking its workers (deploy/gunicorn_hooks.py):
    readers click the links of recent sends, and without it each process paid a database
    round trip for the first click on every one of them. Older links still resolve,
    through the database, and are cached from then on.
    """
    rows = list(
        TrackedLink.objects.order_by("-pk").values_list("code", "pk", "destination")[
            :LINK_CACHE_SIZE
        ]
    )
    for code, pk, destination in reversed(rows):  # newest end up most recently used
        _LINK_CACHE.put(code, (int(pk), destination))
    return len(rows)


# A fixed statement instead of TrackedLink.objects.filter(code=...).values_list(...):
# the ORM builds and compiles that query on every call, about 0.3 ms of CPU, which was
# most of the cost of a redirect whose code is not cached yet (and with many links and
# many workers most codes are not). `.first()` also added an ORDER BY on the model
# ordering, useless on a unique column. The code is passed as a parameter, never
# formatted into the SQL; names come from the model so a rename cannot silently break it.
_LINK_BY_CODE_SQL = 'SELECT "{pk}", "{destination}" FROM "{table}" WHERE "{code}" = %s'.format(
    pk=TrackedLink._meta.pk.column,
    destination=TrackedLink._meta.get_field("destination").column,
    table=TrackedLink._meta.db_table,
    code=TrackedLink._meta.get_field("code").column,
)


def resolve_link_code(code: str) -> tuple[int, str] | None:
    """(link id, stored destination) for a well-formed, existing code; else None.

    Destinations never change, so each process keeps what it looked up (LinkCache).
    Unknown codes are not cached: they cost a lookup each, and the cache stays for links.
    """
    if not CODE_RE.match(code or ""):
        return None
    return _LINK_CACHE.get(code) or _lookup_link(code)


def _lookup_link(code: str) -> tuple[int, str] | None:
    with connections[router.db_for_read(TrackedLink)].cursor() as cursor:
        cursor.execute(_LINK_BY_CODE_SQL, [code])
        row = cursor.fetchone()
    if row is None:
        return None
    link = (int(row[0]), row[1])
    _LINK_CACHE.put(code, link)
    return link


_CLIENTS: dict = {}


# Both are read on every tracked request, and each settings lookup costs more than the
# rest of the function: cached, and forgotten when a setting changes (tests).
@functools.cache
def queue_url() -> str:
    """The Redis URL of the event queue; empty on the embedded default."""
    return settings.ANALYTICS_REDIS_URL or settings.REDIS_URL


@functools.cache
def queue_key() -> str:
    return settings.ANALYTICS_QUEUE_KEY


@receiver(setting_changed)
def _forget_queue_settings(setting, **kwargs):
    if setting in {"ANALYTICS_REDIS_URL", "REDIS_URL", "ANALYTICS_QUEUE_KEY"}:
        queue_url.cache_clear()
        queue_key.cache_clear()


def queue_client():
    """The Redis client for the event queue, or None on the embedded default."""
    url = queue_url()
    if not url:
        return None
    client = _CLIENTS.get(url)
    if client is None:
        import redis

        client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)
        _CLIENTS[url] = client
    return client


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
    process's confirmer thread (_Confirmer) confirms an idle worker's batch well before
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
        _CONFIRMER.watch(self)

    def _connect(self):
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

    def _commands(self, payloads: list[dict]) -> bytes:
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
        command = self._commands([payload])
        with self.lock:
            try:
                self._make_room(len(command))
                try:
                    self._send(command)
                except OSError:
                    self._connect()
                    self._send(self._commands(self.pending) + command)
            except Exception as exc:
                failed, self.pending, self.pending_bytes = [*self.pending, payload], [], 0
                self.close()
                raise PushFailed(failed) from exc
            self.pending.append(payload)
            self.pending_bytes += len(command)
            if not self.corked:
                return
            if self.pending_bytes > self.segment_bytes or self._batch_left_the_socket():
                self._confirm()  # the kernel sent it (or will): confirm before the 302
            elif len(self.pending) == 1:
                self.batch_started = time.monotonic()
                # After the append: the confirmer either sees the batch or is woken.
                _CONFIRMER.batch_started(self.batch_started + self.max_wait)

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
            self.pending_bytes + size > self.segment_bytes or self._batch_left_the_socket()
        ):
            self._confirm()

    def _batch_left_the_socket(self) -> bool:
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
                self._send(self._commands(pending))
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


class _Confirmer:
    """The process's thread that confirms the corked batches nobody else will: a
    worker that pushed a click and then had no request for a while. It sleeps until the
    oldest pending batch is due; under load the requests themselves confirm every
    batch, a new batch is due after the one the thread waits for, and nothing wakes it
    early. It starts in the process that pushes; a forked child starts afresh
    (_start_afresh_after_fork)."""

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
        if due_at < self.next_check:
            self.wakeup.set()

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


_CONFIRMER = _Confirmer()


_PUSHERS = threading.local()


def _start_afresh_after_fork() -> None:
    """In a forked child the parent's pushers, their sockets and its confirmer thread
    are not ours: a connection opened before a fork must not be shared."""
    global _PUSHERS
    _PUSHERS = threading.local()
    _CONFIRMER._reset()


os.register_at_fork(after_in_child=_start_afresh_after_fork)


def _pusher(url: str) -> EventPusher:
    """This thread's pusher for the queue at `url`."""
    by_url = getattr(_PUSHERS, "by_url", {})
    pusher = by_url.get(url)
    if pusher is None:
        for replaced in by_url.values():  # the queue URL changed (tests): keep its batch
            replaced.confirm()
            _CONFIRMER.forget(replaced)
        pusher = EventPusher(url)
        _PUSHERS.by_url = {url: pusher}
    return pusher


def confirm_pushes(**kwargs) -> None:
    """Confirm this thread's pending pushes once their batch is due (connected to
    request_finished: runs after the WSGI server has sent the response)."""
    for pusher in getattr(_PUSHERS, "by_url", {}).values():
        pusher.confirm_if_due()


def flush_pushes() -> None:
    """Confirm every pending push of this process now, due or not."""
    _CONFIRMER.confirm_all()


def enqueue_event(payload: dict, *, confirm_after_response: bool = False) -> None:
    """Record one event durably: RPUSH to Redis, or straight into the database when
    there is no Redis or Redis refuses.

    With confirm_after_response (the tracking views), the push is written now and
    confirmed with its batch after the response went out (confirm_pushes); only call
    it so while handling a request. Otherwise it is confirmed here.
    """
    url = queue_url()
    if url:
        pusher = _pusher(url)
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


# --- Non-HTTP events ------------------------------------------------------------------------


def record_events(events: list[dict]) -> int:
    """Record send/delivery/bounce/complaint/unsubscribe events in bulk.

    Each dict: kind, publication_id, occurred_at (aware datetime), optional
    recipient_key, optional uid. All events are validated first; any invalid one raises
    ValueError naming it and nothing is recorded. Idempotent for events with a
    recipient_key (or uid): recording the same event twice stores it once.
    Returns the number of events newly stored.
    """
    payloads = []
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            raise ValueError(f"event {index}: not a dict")
        kind = event.get("kind")
        if kind not in RECORDABLE_KINDS:
            raise ValueError(
                f"event {index}: kind {kind!r} is not one of {sorted(RECORDABLE_KINDS)}"
            )
        try:
            publication_id = int(event.get("publication_id"))
        except (TypeError, ValueError):
            raise ValueError(f"event {index}: publication_id must be an integer") from None
        occurred_at = event.get("occurred_at")
        if not isinstance(occurred_at, datetime.datetime) or timezone.is_naive(occurred_at):
            raise ValueError(f"event {index}: occurred_at must be an aware datetime")
        recipient_key = str(event.get("recipient_key") or "")[:150]
        uid = event.get("uid") or (
            hashlib.sha256(
                f"{kind}|{publication_id}|{recipient_key}|{occurred_at.timestamp()}".encode()
            ).hexdigest()[:32]
            if recipient_key
            else uuid.uuid4().hex
        )
        payloads.append(
            {
                "u": str(uid)[:32],
                "k": kind,
                "t": occurred_at.timestamp(),
                "pub": publication_id,
                "rk": recipient_key,
            }
        )
    return store_events(payloads)


# --- Storing events (the drainer's core) ---------------------------------------------------

# One advisory lock key shared with the rollup: drains hold it shared, the rollup
# exclusively, so every event id below the rollup's watermark is committed.
ADVISORY_LOCK_KEY = 7_206_001


def lock_events(exclusive: bool) -> None:
    if connection.vendor == "postgresql":
        fn = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {fn}(%s)", [ADVISORY_LOCK_KEY])


def _as_int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def store_events(payloads: list[dict]) -> int:
    """Store queue payloads as Event rows: resolve dimensions, flag bots and scanners,
    mark unique events, insert. Idempotent per payload uid. Returns rows inserted."""
    from campaigns.models import Publication

    now = timezone.now()
    seen: set[str] = set()
    clean = []
    for payload in payloads:
        uid = str(payload.get("u") or "")[:32]
        if not uid or uid in seen or payload.get("k") not in Event.Kind.values:
            continue
        seen.add(uid)
        clean.append(payload)
    if not clean:
        return 0

    with transaction.atomic():
        lock_events(exclusive=False)
        stored = set(Event.objects.filter(uid__in=list(seen)).values_list("uid", flat=True))
        clean = [p for p in clean if p["u"] not in stored]
        if not clean:
            return 0

        link_ids = {_as_int(p.get("l")) for p in clean if p["k"] == "click"} - {0}
        links = {
            row["pk"]: row
            for row in TrackedLink.objects.filter(pk__in=link_ids).values(
                "pk", "campaign_id", "publication_id", "page_id", "channel"
            )
        }
        messages = {}
        for p in clean:
            if p.get("m"):
                parsed = parse_message_token(p["m"])
                if parsed:
                    messages[p["m"]] = parsed
        pub_ids = {_as_int(p.get("pub")) for p in clean} | {m[0] for m in messages.values()}
        pubs = {
            row["pk"]: row
            for row in Publication.objects.filter(pk__in=pub_ids - {0}).values(
                "pk", "campaign_id", "page_id", "channel_account__kind"
            )
        }

        events = []
        for p in clean:
            kind = p["k"]
            event = Event(
                uid=p["u"],
                kind=kind,
                occurred_at=datetime.datetime.fromtimestamp(float(p.get("t") or 0), tz=datetime.UTC)
                if p.get("t")
                else now,
                received_at=now,
                visitor_hash=str(p.get("v") or "")[:32],
                user_agent=str(p.get("a") or "")[:300],
                bot_reason=str(p.get("b") or "")[:40],
            )
            event.is_bot = bool(event.bot_reason)
            if kind == "click":
                link = links.get(_as_int(p.get("l")))
                if link is None:
                    continue  # the link was deleted since the click
                event.link_id = link["pk"]
                event.campaign_id = link["campaign_id"] or 0
                event.publication_id = link["publication_id"] or 0
                event.page_id = link["page_id"] or 0
                event.channel = link["channel"]
                message = messages.get(p.get("m"))
                # A token only attributes clicks on links of its own publication.
                if message and message[0] == event.publication_id:
                    event.message_key = f"{message[0]}:{message[1]}"[:200]
            elif kind == "open":
                message = messages.get(p.get("m"))
                pub = pubs.get(message[0]) if message else None
                if pub is None:
                    continue  # an invalid token records nothing
                event.message_key = f"{message[0]}:{message[1]}"[:200]
                _fill_from_publication(event, pub)
            elif kind == "pageview":
                event.page_id = _as_int(p.get("p"))
                ref = classify.classify_referrer(
                    str(p.get("r") or "")[:2000],
                    own_host=str(p.get("h") or ""),
                    landing_url=str(p.get("lu") or "")[:2000],
                )
                event.referrer_class = ref["class"]
                event.search_engine = ref["engine"]
                event.search_query = ref["query"][:200]
            else:
                pub = pubs.get(_as_int(p.get("pub")))
                if pub is None:
                    logger.warning(
                        "dropping %s event for unknown publication %s", kind, p.get("pub")
                    )
                    continue
                _fill_from_publication(event, pub)
                if p.get("rk"):
                    event.message_key = f"{pub['pk']}:{p['rk']}"[:200]
            events.append(event)

        _flag_scanner_clicks(events, now)
        _mark_unique(events)
        insert_events(events)
    return len(events)


def insert_events(events: list[Event]) -> None:
    """INSERT ... ON CONFLICT (uid) DO NOTHING for many events. On PostgreSQL one
    statement per 5,000 rows with a column array each (unnest): the ORM's bulk_create
    spent more time building its VALUES list than PostgreSQL spent storing it."""
    if connection.vendor != "postgresql":
        Event.objects.bulk_create(events, batch_size=1000, ignore_conflicts=True)
        return
    fields = [f for f in Event._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in fields)
    sql = (
        f"INSERT INTO {Event._meta.db_table} ({columns}) SELECT * FROM unnest({arrays})"
        " ON CONFLICT (uid) DO NOTHING"
    )
    with connection.cursor() as cursor:
        for start in range(0, len(events), 5000):
            chunk = events[start : start + 5000]
            cursor.execute(sql, [[getattr(e, f.attname) for e in chunk] for f in fields])


def _fill_from_publication(event: Event, pub: dict) -> None:
    event.publication_id = pub["pk"]
    event.campaign_id = pub["campaign_id"]
    event.page_id = pub["page_id"] or 0
    event.channel = (pub["channel_account__kind"] or "").split("/", 1)[0]


def _flag_scanner_clicks(events: list[Event], now) -> None:
    """Mail scanners: a click within FAST_CLICK_SECONDS of the message's delivery, and
    every link of a message clicked inside one such window. Clicks already stored in
    the last REFLAG_WINDOW_SECONDS are re-flagged too (the rollup has not counted them
    yet: it lags by more than that)."""
    clicks = [e for e in events if e.kind == "click" and e.message_key and not e.is_bot]
    if not clicks:
        return
    keys = {e.message_key for e in clicks}
    deliveries: dict[str, list] = {}
    for e in events:
        if e.kind == "delivery" and e.message_key in keys:
            deliveries.setdefault(e.message_key, []).append(e.occurred_at)
    for key, at in Event.objects.filter(kind="delivery", message_key__in=keys).values_list(
        "message_key", "occurred_at"
    ):
        deliveries.setdefault(key, []).append(at)
    for click in clicks:
        for delivered in deliveries.get(click.message_key, []):
            if 0 <= (click.occurred_at - delivered).total_seconds() < FAST_CLICK_SECONDS:
                click.is_bot, click.bot_reason = True, classify.REASON_FAST_AFTER_DELIVERY

    # Every link at once.
    pub_ids = {e.publication_id for e in clicks if e.publication_id}
    from django.db.models import Count

    link_counts = dict(
        TrackedLink.objects.filter(publication_id__in=pub_ids)
        .values("publication_id")
        .annotate(n=Count("pk"))
        .values_list("publication_id", "n")
    )
    recent = list(
        Event.objects.filter(
            kind="click",
            is_bot=False,
            message_key__in=keys,
            received_at__gte=now - datetime.timedelta(seconds=REFLAG_WINDOW_SECONDS),
        )
    )
    by_message: dict[str, list[Event]] = {}
    for e in [*recent, *(c for c in clicks if not c.is_bot)]:
        by_message.setdefault(e.message_key, []).append(e)
    reflag_ids = []
    for group in by_message.values():
        needed = link_counts.get(group[0].publication_id, 0)
        if needed < 2 or len({e.link_id for e in group}) < needed:
            continue
        group.sort(key=lambda e: e.occurred_at)
        start = 0
        for end in range(len(group)):
            while (
                group[end].occurred_at - group[start].occurred_at
            ).total_seconds() > FAST_CLICK_SECONDS:
                start += 1
            window = group[start : end + 1]
            if len({e.link_id for e in window}) >= needed:
                for e in window:
                    e.is_bot, e.bot_reason, e.is_unique = True, classify.REASON_ALL_LINKS, False
                    if e.pk:
                        reflag_ids.append(e.pk)
    if reflag_ids:
        Event.objects.filter(pk__in=reflag_ids).update(
            is_bot=True, bot_reason=classify.REASON_ALL_LINKS, is_unique=False
        )


def _unique_identity(event: Event) -> tuple | None:
    """What makes an event 'the same visitor again'. Messages are one recipient for
    good; web visitors are their daily hash, so web uniques are per day."""
    if event.kind == "click":
        if event.message_key:
            return ("click", event.link_id, "m", event.message_key)
        return ("click", event.link_id, "v", event.visitor_hash) if event.visitor_hash else None
    if event.kind == "open" and event.message_key:
        return ("open", event.publication_id, "m", event.message_key)
    if event.kind == "pageview" and event.visitor_hash:
        return ("pageview", event.page_id, "v", event.visitor_hash)
    return None


def _mark_unique(events: list[Event]) -> None:
    candidates = [(e, _unique_identity(e)) for e in events if not e.is_bot]
    candidates = [(e, ident) for e, ident in candidates if ident]
    if not candidates:
        return
    message_keys = {ident[3] for _, ident in candidates if ident[2] == "m"}
    known: set[tuple] = set()
    query = Q(pk__in=[])
    if message_keys:
        query |= Q(message_key__in=message_keys)
    # Web visitors by hash *and* link or page: one visitor (a whole office behind one
    # address and browser build) may have clicked thousands of links, and fetching all
    # of their unique events for every batch made storing a click slower the more that
    # visitor had clicked. The (visitor_hash, link_id, kind) index serves both.
    for kind, column in (("click", "link_id"), ("pageview", "page_id")):
        pairs = {(i[1], i[3]) for _, i in candidates if i[0] == kind and i[2] == "v"}
        if pairs:
            query |= Q(
                kind=kind,
                visitor_hash__in={h for _, h in pairs},
                **{f"{column}__in": {target for target, _ in pairs}},
            )
    for row in (
        Event.objects.filter(query, is_unique=True)
        .exclude(kind__in=RECORDABLE_KINDS)
        .values("kind", "link_id", "publication_id", "page_id", "message_key", "visitor_hash")
    ):
        probe = Event(**{k: v for k, v in row.items()})
        ident = _unique_identity(probe)
        if ident:
            known.add(ident)
    for event, ident in sorted(candidates, key=lambda pair: pair[0].occurred_at):
        if ident not in known:
            event.is_unique = True
            known.add(ident)


# --- Draining the Redis queue ---------------------------------------------------------------

_MOVE_BATCH = """
local n = tonumber(ARGV[1])
local items = redis.call('LRANGE', KEYS[1], 0, n - 1)
if #items > 0 then
  redis.call('LTRIM', KEYS[1], #items, -1)
  for i = 1, #items, 500 do
    redis.call('RPUSH', KEYS[2], unpack(items, i, math.min(i + 499, #items)))
  end
end
return items
"""
_RELEASE_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


# How long the drainer's lock outlives a drainer that could not release it: killed, or
# Redis restarted under it (the append-only file keeps the lock). Refreshed after every
# batch, and far above one batch's time (2,000 events take well under a second), but a
# restart mid-drain delays draining by this much at most, not five minutes.
DRAIN_LOCK_SECONDS = 30


def drain_event_queue(batch_size: int = 2000, max_batches: int = 100) -> int:
    """Move queued events into the database in batches. One drainer at a time (a Redis
    lock); safe to run often. Returns the number of queue entries processed."""
    client = queue_client()
    if client is None:
        return 0
    key = queue_key()
    processing = f"{key}:processing"
    lock = f"{key}:lock"
    token = uuid.uuid4().hex
    if not client.set(lock, token, nx=True, ex=DRAIN_LOCK_SECONDS):
        return 0
    total = 0
    try:
        for _ in range(max_batches):
            # Leftovers of a drainer that died mid-batch come first.
            items = client.lrange(processing, 0, -1) or client.eval(
                _MOVE_BATCH, 2, key, processing, batch_size
            )
            if not items:
                break
            payloads = []
            for item in items:
                try:
                    payload = json.loads(item)
                except ValueError:
                    logger.error("dropping malformed queue entry %r", item[:200])
                    continue
                if isinstance(payload, dict):
                    payloads.append(payload)
            store_events(payloads)
            client.delete(processing)
            client.expire(lock, DRAIN_LOCK_SECONDS)
            total += len(items)
    finally:
        client.eval(_RELEASE_LOCK, 1, lock, token)
    return total
