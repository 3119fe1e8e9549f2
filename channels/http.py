"""The one outbound HTTP client: every request to a user-given URL (adapters, feeds,
verification, SNS certificates, Test connection, search imports) is made through
`guarded_client()` (or `fetch_bytes`), and `send` turns every failure into the
contract's errors (channels.base).

Three limits hold for every request, whoever reads the answer and however:

- **Where**: the SSRF guard (channels.netguard) runs at connect time, on the address
  actually dialled, so neither a redirect nor a DNS answer that changes between check
  and use reaches loopback, private, link-local, metadata or IPv4-embedding addresses.
  Accounts marked internal may opt out.
- **How much**: the body is decoded here, in bounded steps, and reading stops once the
  decoded size passes the cap (`max_bytes`, OUTBOUND_HTTP_MAX_BYTES): a gzip bomb costs
  at most the cap and one step of memory, never its expanded size. httpx never sees a
  Content-Encoding, so it cannot decode a whole body at once behind our back.
- **How long**: besides the timeout per phase (OUTBOUND_HTTP_TIMEOUT), one deadline per
  request (OUTBOUND_HTTP_DEADLINE) bounds its wall clock from the lookup and the
  connection through TLS, the upload and the last byte of the answer, redirects
  included: every socket operation waits at most until then, so a server dripping a
  byte a second is cut off at the deadline. Hit while connecting, it is a ConnectTimeout
  (nothing was sent); after the request went out, a Write- or ReadTimeout.
"""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Iterator

import httpcore
import httpx
from django.conf import settings
from django.utils.translation import gettext as _
from httpcore._backends.sync import SyncBackend

from .base import OutcomeUnknown, PublishError
from .netguard import AddressNotAllowed, checked_addresses, is_public_address

__all__ = [
    "BlockedAddress",
    "ResponseTooLarge",
    "client_for_account",
    "fetch_bytes",
    "guarded_client",
    "is_public_address",
    "read_limited",
    "resolve_checked",
    "send",
]

# Decoded bytes produced per step: the most the cap can be overshot by.
DECODE_STEP = 64 * 1024
# Uploads are written in pieces this size, so the deadline is checked between them.
WRITE_STEP = 64 * 1024


class BlockedAddress(httpx.ConnectError):
    """The URL resolves to an address the SSRF guard does not allow."""


class ResponseTooLarge(httpx.HTTPError):
    """The body, decoded, exceeded the configured size limit."""


def resolve_checked(
    host: str, port: int, allow_internal: bool, timeout: float | None = None
) -> list[str]:
    """Resolve `host` and return its addresses, refusing non-public ones unless allowed
    (channels.netguard.checked_addresses, with httpx's exceptions)."""
    try:
        return checked_addresses(host, port, allow_internal, timeout)
    except AddressNotAllowed as exc:
        raise BlockedAddress(str(exc)) from exc
    except TimeoutError as exc:
        raise httpx.ConnectTimeout(str(exc)) from exc
    except OSError as exc:
        raise httpx.ConnectError(f"cannot resolve {host}: {exc}") from exc


# --- the deadline -------------------------------------------------------------------------


class Deadline:
    """When the current request of one client must be over. Set when the request
    starts (GuardedClient.send), per thread; every socket operation of the client's
    connections waits at most until then."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._local = threading.local()

    def start(self) -> None:
        self._local.at = time.monotonic() + self.seconds

    def bound(self, timeout: float | None, error: type[Exception]) -> float | None:
        """`timeout` shortened to what is left; raises `error` once nothing is."""
        at = getattr(self._local, "at", None)
        if at is None:
            return timeout
        left = at - time.monotonic()
        if left <= 0:
            raise error(f"the request's deadline of {self.seconds:g} s passed")
        return left if timeout is None else min(timeout, left)


class DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read, write and TLS handshake ends by the deadline."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: Deadline):
        self._stream = stream
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._deadline.bound(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        start = 0
        while True:  # at least once: an empty write still checks the deadline
            piece = buffer[start : start + WRITE_STEP]
            self._stream.write(piece, self._deadline.bound(timeout, httpcore.WriteTimeout))
            start += WRITE_STEP
            if start >= len(buffer):
                return

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        timeout = self._deadline.bound(timeout, httpcore.ConnectTimeout)
        return DeadlineStream(
            self._stream.start_tls(ssl_context, server_hostname, timeout), self._deadline
        )

    def get_extra_info(self, info: str):
        return self._stream.get_extra_info(info)


class GuardedBackend(SyncBackend):
    """Connects only to checked addresses (channels.netguard), by the deadline."""

    def __init__(self, allow_internal: bool, deadline: Deadline | None = None):
        self.allow_internal = allow_internal
        self.deadline = deadline or Deadline(settings.OUTBOUND_HTTP_DEADLINE)

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        bounded = self.deadline.bound(timeout, httpcore.ConnectTimeout)
        last_error: Exception | None = None
        for address in resolve_checked(host, port, self.allow_internal, bounded):
            bounded = self.deadline.bound(timeout, httpcore.ConnectTimeout)
            try:
                stream = super().connect_tcp(address, port, bounded, local_address, socket_options)
            except httpcore.ConnectError as exc:  # try the next address
                last_error = exc
                continue
            return DeadlineStream(stream, self.deadline)
        raise last_error or httpcore.ConnectError(f"cannot connect to {host}")


class GuardedClient(httpx.Client):
    """An httpx.Client that starts the deadline with each request it sends (redirects
    and the reading of a streamed answer fall under the same one)."""

    def __init__(self, *, deadline: Deadline, **kwargs):
        super().__init__(**kwargs)
        self.deadline = deadline

    def send(self, request, **kwargs):
        self.deadline.start()
        return super().send(request, **kwargs)


# --- the size cap ---------------------------------------------------------------------------


def _inflate(chunks: Iterator[bytes], coding: str, request) -> Iterator[bytes]:
    """Decode a gzip or deflate stream in steps of at most DECODE_STEP bytes."""
    if coding in ("gzip", "x-gzip"):
        candidates = [zlib.MAX_WBITS | 16]
    else:  # deflate: zlib-wrapped as the RFC says, raw as some servers send it
        candidates = [zlib.MAX_WBITS, -zlib.MAX_WBITS]
    decoder = zlib.decompressobj(candidates.pop(0))
    started = False
    for data in chunks:
        if decoder.eof:
            continue  # what follows the stream's end (a second gzip member) is ignored
        while data:
            try:
                out = decoder.decompress(data, DECODE_STEP)
            except zlib.error as exc:
                if started or not candidates:
                    raise httpx.DecodingError(f"bad {coding} body: {exc}", request=request) from exc
                decoder = zlib.decompressobj(candidates.pop(0))
                continue
            started = True
            data = decoder.unconsumed_tail
            if out:
                yield out
            if decoder.eof:
                break
    if not decoder.eof:
        # The input is all taken; what zlib still holds is at most its window.
        try:
            rest = decoder.flush()
        except zlib.error as exc:
            raise httpx.DecodingError(f"bad {coding} body: {exc}", request=request) from exc
        if rest:
            yield rest


class LimitedStream(httpx.SyncByteStream):
    """An answer's body, decoded here step by step and cut at `max_bytes` (counted both
    as received and as decoded)."""

    def __init__(self, raw: httpx.SyncByteStream, codings: list[str], max_bytes: int, request):
        self.raw = raw
        self.codings = codings
        self.max_bytes = max_bytes
        self.request = request

    def _counted(self, chunks, what: str) -> Iterator[bytes]:
        size = 0
        for chunk in chunks:
            size += len(chunk)
            if size > self.max_bytes:
                error = ResponseTooLarge(
                    f"the answer of {self.request.url.host} is larger than "
                    f"{self.max_bytes} bytes ({what})"
                )
                error.request = self.request
                raise error
            yield chunk

    def __iter__(self) -> Iterator[bytes]:
        chunks = self._counted(self.raw, "as received")
        # Content-Encoding lists the codings in the order applied: undo the last first.
        for coding in reversed(self.codings):
            if coding in ("gzip", "x-gzip", "deflate"):
                chunks = _inflate(chunks, coding, self.request)
            # identity, or one we never asked for: left as it came, as httpx would.
        yield from self._counted(chunks, "decoded")

    def close(self) -> None:
        self.raw.close()


class LimitedTransport(httpx.BaseTransport):
    """Hands every answer on with its body behind LimitedStream, and without the
    Content-Encoding (and Content-Length) it no longer has."""

    def __init__(self, inner: httpx.BaseTransport, max_bytes: int):
        self.inner = inner
        self.max_bytes = max_bytes

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        codings = [
            c.strip().lower()
            for c in response.headers.get("content-encoding", "").split(",")
            if c.strip()
        ]
        headers = response.headers.raw
        if codings:
            headers = [
                (k, v)
                for k, v in headers
                if k.lower() not in (b"content-encoding", b"content-length")
            ]
        return httpx.Response(
            status_code=response.status_code,
            headers=headers,
            stream=LimitedStream(response.stream, codings, self.max_bytes, request),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self.inner.close()


def guarded_client(
    allow_internal: bool = False,
    timeout: float | None = None,
    *,
    max_bytes: int | None = None,
    deadline: float | None = None,
    **kwargs,
) -> httpx.Client:
    """An httpx.Client whose every connection goes through the SSRF guard, whose every
    answer is cut at `max_bytes` decoded (OUTBOUND_HTTP_MAX_BYTES) and whose every
    request ends by `deadline` seconds (OUTBOUND_HTTP_DEADLINE); `timeout` is the limit
    per phase (OUTBOUND_HTTP_TIMEOUT). Environment proxies are ignored (a proxy would
    dial on our behalf, unchecked)."""
    clock = Deadline(deadline or settings.OUTBOUND_HTTP_DEADLINE)
    transport = httpx.HTTPTransport(retries=0)
    transport._pool = httpcore.ConnectionPool(
        ssl_context=transport._pool._ssl_context,
        network_backend=GuardedBackend(allow_internal, clock),
        max_connections=20,
        max_keepalive_connections=10,
    )
    headers = {
        "User-Agent": "CampaignHub/0.1 (+https://github.com/campaignhub)",
        # Only the codings LimitedStream decodes, whatever decoders httpx may find.
        "Accept-Encoding": "gzip, deflate",
    }
    headers.update(kwargs.pop("headers", None) or {})
    return GuardedClient(
        deadline=clock,
        transport=LimitedTransport(transport, max_bytes or settings.OUTBOUND_HTTP_MAX_BYTES),
        timeout=httpx.Timeout(timeout or settings.OUTBOUND_HTTP_TIMEOUT),
        trust_env=False,
        headers=headers,
        **kwargs,
    )


def client_for_account(account, **kwargs) -> httpx.Client:
    return guarded_client(allow_internal=account.is_internal, **kwargs)


def read_limited(response: httpx.Response, max_bytes: int | None = None) -> bytes:
    """Read a streamed response body, refusing more than `max_bytes` (below the
    client's own cap, which holds anyway)."""
    limit = max_bytes or settings.OUTBOUND_HTTP_MAX_BYTES
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise ResponseTooLarge(f"response larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def fetch_bytes(url: str, allow_internal: bool = False, max_bytes: int | None = None) -> bytes:
    """GET a user-given URL through the guard; follows up to 5 redirects (each checked).
    The body is cut at `max_bytes` decoded, the whole fetch at OUTBOUND_HTTP_DEADLINE.
    Raises httpx.HTTPError (BlockedAddress, ResponseTooLarge, timeouts, HTTP status)."""
    with guarded_client(
        allow_internal=allow_internal, follow_redirects=True, max_redirects=5, max_bytes=max_bytes
    ) as client:
        with client.stream("GET", url) as response:
            response.raise_for_status()
            return read_limited(response, max_bytes)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    from django.utils import timezone

    if when.tzinfo is None:
        return None
    return max(0.0, (when - timezone.now()).total_seconds())


# Methods that cannot create anything on the channel (RFC 9110 "safe" methods).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Failures after the request was (maybe partly) written: the channel may have received
# and carried it out. A write that failed half way is counted too: we cannot know how
# much of it the server (or a buffering proxy in front of it) already holds.
# ConnectError, ConnectTimeout and PoolTimeout are not here: nothing was sent.
MAYBE_SENT_ERRORS = (
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,  # "Server disconnected without sending a response", a cut body
    httpx.CloseError,
    httpx.DecodingError,  # an answer came, in an encoding we cannot read
)


def send(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    on_response=None,
    may_create: bool | None = None,
    **kwargs,
) -> httpx.Response:
    """Make one request for an adapter and translate every failure into PublishError.

    Contract (the same for every HTTP adapter, so the publish service can decide):
    the SSRF guard refusing an address, 401/403 and other 4xx are permanent; 429 is
    transient with `retry_after` from the Retry-After header; failing to connect at all
    is transient. When the request may have created something (`may_create`; by
    default every method but GET/HEAD/OPTIONS), a timeout or lost connection after it
    was sent, and any 5xx (a gateway's 502/503/504 may come after it forwarded the
    request; an origin's 500 may come after it stored the post), raise OutcomeUnknown
    so the service looks the post up before trying again; for a request that cannot
    create anything they are plain transient errors. Pass may_create=False for a POST
    that creates nothing the service could find (a token refresh, a media upload, an
    XML-RPC read). The deadline counts the same way: hit while connecting, nothing was
    sent; hit later, a create's outcome is unknown. An answer larger than the cap is
    permanent for a read (it will not shrink) and OutcomeUnknown for a create.
    Returns the response for any 2xx/3xx status.
    `on_response(response)`, when given, sees every response first (rate-limit headers).
    """
    if may_create is None:
        may_create = method.upper() not in SAFE_METHODS
    host = httpx.URL(url).host
    try:
        response = client.request(method, url, **kwargs)
    except BlockedAddress as exc:
        raise PublishError(str(exc), permanent=True) from exc
    except ResponseTooLarge as exc:
        # An answer came: if the request could create, it may have.
        message = _("the answer of %(host)s was refused: %(error)s") % {"host": host, "error": exc}
        if may_create:
            raise OutcomeUnknown(message) from exc
        raise PublishError(message, permanent=True) from exc
    except MAYBE_SENT_ERRORS as exc:
        raise transport_error(host, exc, maybe_sent=may_create) from exc
    except httpx.TransportError as exc:
        raise transport_error(host, exc, maybe_sent=False) from exc
    if on_response is not None:
        on_response(response)
    status = response.status_code
    if status < 400:
        return response
    error = http_error(response, may_create=may_create)
    error.status_code = status
    raise error


def transport_error(host: str, exc: Exception, *, maybe_sent: bool) -> PublishError:
    """The PublishError for a request that got no (complete) answer. `maybe_sent`: the
    request may have reached the channel, so its outcome is unknown."""
    if isinstance(exc, httpx.TimeoutException):
        message = _("%(host)s did not answer in time (%(error)s)") % {
            "host": host,
            "error": type(exc).__name__,
        }
    elif maybe_sent:
        message = _("the connection to %(host)s broke before its answer arrived: %(error)s") % {
            "host": host,
            "error": str(exc) or type(exc).__name__,
        }
    else:
        message = _("cannot reach %(host)s: %(error)s") % {"host": host, "error": exc}
    if maybe_sent:
        return OutcomeUnknown(message)
    return PublishError(message, permanent=False)


def http_error(response: httpx.Response, *, may_create: bool = False) -> PublishError:
    """The PublishError for an error response (see `send` for the classification)."""
    status = response.status_code
    snippet = response.text[:300].strip()
    if status in (401, 403):
        return PublishError(
            _("%(status)s: the service refused our credentials or permissions (%(body)s)")
            % {"status": status, "body": snippet},
            permanent=True,
        )
    if status == 429:
        return PublishError(
            _("429: rate limited by the service"),
            permanent=False,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
    if status >= 500:
        message = _("%(status)s: the service failed (%(body)s)") % {
            "status": status,
            "body": snippet,
        }
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if may_create:
            return OutcomeUnknown(message, retry_after=retry_after)
        return PublishError(message, permanent=False, retry_after=retry_after)
    return PublishError(
        _("%(status)s: the service rejected the request (%(body)s)")
        % {"status": status, "body": snippet},
        permanent=True,
    )
