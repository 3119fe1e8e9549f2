"""Per-client limits on the public audience forms (subscribe, preferences).

A client is its IP address as Django sees it (client_ip: REMOTE_ADDR, or the address
the outermost of TRUSTED_PROXY_COUNT proxies received from), keyed-hashed before it is
used (services.hash_ip): the raw address is never stored, not even in the cache.
Posts are counted per form and client in fixed windows of
AUDIENCES_FORM_LIMIT_WINDOW_SECONDS in the shared cache (Redis in production), so the
limit holds across processes and hosts. The RFC 8058 one-click unsubscribe POST is
never limited: a mail provider sends it for many people from few addresses, and it must
always work.

A cache that cannot be reached lets the post through (logged): the per-address limit on
confirmation emails, in the database, still holds.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache

from .services import hash_ip

logger = logging.getLogger(__name__)


def client_ip(request) -> str:
    """The client's address. Behind TRUSTED_PROXY_COUNT proxies that each append the
    address they received from to X-Forwarded-For, it is that many entries from the
    right; entries further left were written by the client and prove nothing."""
    remote = request.META.get("REMOTE_ADDR", "")
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [h for h in hops if h]
    # Fewer entries than proxies: a request that did not come through them all.
    return hops[-count] if len(hops) >= count else remote


def client_key(request) -> str:
    return hash_ip(client_ip(request)) or "unknown"


def over_limit(form: str, request, now: float | None = None) -> int | None:
    """Count one post of `form` by this request's client. Returns None while the client
    is within AUDIENCES_FORM_LIMIT posts in the current window, else the seconds until
    the window ends (for Retry-After)."""
    limit = settings.AUDIENCES_FORM_LIMIT
    window = max(1, settings.AUDIENCES_FORM_LIMIT_WINDOW_SECONDS)
    if limit <= 0:
        return None
    now = time.time() if now is None else now
    slot = int(now // window)
    key = f"audiences:form-limit:{form}:{client_key(request)}:{slot}"
    try:
        cache.add(key, 0, timeout=window + 5)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=window + 5)
            count = 1
    except Exception:  # noqa: BLE001 - the cache is down: let the post through
        logger.warning("Public form limit not counted: the cache is unavailable", exc_info=True)
        return None
    if count > limit:
        return max(1, int((slot + 1) * window - now))
    return None
