"""The one outbound HTTP client for adapters and feed fetching, with an SSRF guard.

Every user-given URL (a blog's base URL, a partner feed) is fetched through
`guarded_client()`. The guard runs at connect time, on the address actually dialled:
the host name is resolved once, every address is checked, and the socket connects to
the checked address. So neither a redirect nor a DNS answer that changes between check
and use (rebinding) can reach loopback, private, link-local (169.254.169.254 cloud
metadata) or other non-public addresses. Accounts marked internal may opt out.
"""

from __future__ import annotations

import ipaddress
import socket

import httpcore
import httpx
from django.conf import settings
from django.utils.translation import gettext as _
from httpcore._backends.sync import SyncBackend

from .base import OutcomeUnknown, PublishError


class BlockedAddress(httpx.ConnectError):
    """The URL resolves to an address the SSRF guard does not allow."""


class ResponseTooLarge(httpx.HTTPError):
    """The body exceeded the configured size limit."""


def is_public_address(ip: str) -> bool:
    addr = ipaddress.ip_address(ip)
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    return addr.is_global and not addr.is_multicast


def resolve_checked(host: str, port: int, allow_internal: bool) -> list[str]:
    """Resolve `host` and return its addresses, refusing non-public ones unless allowed."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise httpx.ConnectError(f"cannot resolve {host}: {exc}") from exc
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not allow_internal:
        blocked = [a for a in addresses if not is_public_address(a)]
        if blocked:
            raise BlockedAddress(
                f"refused to connect to {host} ({', '.join(blocked)}): not a public address"
            )
    return addresses


class GuardedBackend(SyncBackend):
    def __init__(self, allow_internal: bool):
        self.allow_internal = allow_internal

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        last_error: Exception | None = None
        for address in resolve_checked(host, port, self.allow_internal):
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:  # try the next address
                last_error = exc
        raise last_error or httpcore.ConnectError(f"cannot connect to {host}")


def guarded_client(
    allow_internal: bool = False, timeout: float | None = None, **kwargs
) -> httpx.Client:
    """An httpx.Client whose every connection goes through the SSRF guard.
    Environment proxies are ignored (a proxy would dial on our behalf, unchecked)."""
    transport = httpx.HTTPTransport(retries=0)
    transport._pool = httpcore.ConnectionPool(
        ssl_context=transport._pool._ssl_context,
        network_backend=GuardedBackend(allow_internal),
        max_connections=20,
        max_keepalive_connections=10,
    )
    headers = {"User-Agent": "CampaignHub/0.1 (+https://github.com/campaignhub)"}
    headers.update(kwargs.pop("headers", None) or {})
    return httpx.Client(
        transport=transport,
        timeout=httpx.Timeout(timeout or settings.OUTBOUND_HTTP_TIMEOUT),
        trust_env=False,
        headers=headers,
        **kwargs,
    )


def client_for_account(account, **kwargs) -> httpx.Client:
    return guarded_client(allow_internal=account.is_internal, **kwargs)


def read_limited(response: httpx.Response, max_bytes: int | None = None) -> bytes:
    """Read a streamed response body, refusing more than `max_bytes`."""
    limit = max_bytes or settings.OUTBOUND_HTTP_MAX_BYTES
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise ResponseTooLarge(f"response larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def fetch_bytes(url: str, allow_internal: bool = False, max_bytes: int | None = None) -> bytes:
    """GET a user-given URL through the guard; follows up to 5 redirects (each checked)."""
    with guarded_client(
        allow_internal=allow_internal, follow_redirects=True, max_redirects=5
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
    XML-RPC read). Returns the response for any 2xx/3xx status.
    `on_response(response)`, when given, sees every response first (rate-limit headers).
    """
    if may_create is None:
        may_create = method.upper() not in SAFE_METHODS
    host = httpx.URL(url).host
    try:
        response = client.request(method, url, **kwargs)
    except BlockedAddress as exc:
        raise PublishError(str(exc), permanent=True) from exc
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
