"""The click carry: how a visit that arrived through a tracked link keeps its click until
a conversion, so the conversion can be credited to the clicks that led to it.

- On our own hub: a signed first-party cookie (CLICK_COOKIE) holding the uids of the
  visitor's recent clicks, newest last, set by the redirect. The page-view beacon and
  the form submissions send it along with their events.
- On other sites (the company's own shop): the redirect appends the signed click id to
  the destination (`?ch_click=<uid>.<signature>`) when the link's campaign has an
  active external goal; the goal's script keeps it in the shop's first-party storage
  and sends it back with the conversion (`/c/<key>?ch_click=...`).

Only signed ids are believed; which clicks count (human, the goal's campaign, within
ANALYTICS_ATTRIBUTION_WINDOW_DAYS) is decided when the conversion is stored
(analytics.conversion_store), from the stored clicks themselves.

Public contract: CLICK_COOKIE, CLICK_PARAM, MAX_CLICKS, sign_click(uid),
parse_click(value), remember_click(response, request, uid), click_cookie_of(request),
clicks_of_cookie(value), with_click_param(url, uid), carry_message_to(path_prefix),
with_message_param(url, token).

The message token (`?m=`, analytics.tokens) stays with the redirect, except on our own
pages under a path an app asked for with `carry_message_to` (surveys: the answer page
takes the recipient from it): there the redirect passes it on as `?m=`, so the click
is counted AND the page knows whose answer it is.
"""

import datetime
import re
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac

from .tokens import TOKEN_RE

CLICK_COOKIE = "hub_clicks"
CLICK_PARAM = "ch_click"
# Clicks a cookie remembers (the newest); enough for a few weeks of one reader's visits.
MAX_CLICKS = 8
_UID_RE = re.compile(r"\A[0-9a-f]{32}\Z")
_SALT = "analytics.click"
_COOKIE_MAX_LENGTH = 8 * 33 + 80


def window() -> datetime.timedelta:
    return datetime.timedelta(days=max(1, settings.ANALYTICS_ATTRIBUTION_WINDOW_DAYS))


def _signature(uid: str, secret: str) -> str:
    return salted_hmac(_SALT, uid, secret=secret).hexdigest()[:16]


def sign_click(uid: str) -> str:
    """`<uid>.<signature>`: a click id a page on another site can carry and send back."""
    return f"{uid}.{_signature(uid, settings.SECRET_KEY)}"


def parse_click(value) -> str | None:
    """The click uid of a validly signed click id, None for anything else."""
    if not isinstance(value, str) or len(value) != 49:
        return None
    uid, _, signature = value.partition(".")
    if not _UID_RE.match(uid):
        return None
    for secret in (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS):
        if constant_time_compare(signature, _signature(uid, secret)):
            return uid
    return None


def clicks_of_cookie(value) -> list[str]:
    """The click uids of a valid click cookie (oldest first); [] for anything else
    (forged, garbled, older than the attribution window)."""
    if not isinstance(value, str) or not value or len(value) > _COOKIE_MAX_LENGTH:
        return []
    try:
        payload = signing.TimestampSigner(salt=_SALT).unsign(value, max_age=window())
    except signing.BadSignature:
        return []
    uids = [uid for uid in payload.split(".") if _UID_RE.match(uid)]
    return uids[-MAX_CLICKS:]


def click_cookie_of(request) -> str:
    """The raw click cookie of `request`, or "" (checked when the event is stored)."""
    header = request.META.get("HTTP_COOKIE")
    if not header or CLICK_COOKIE not in header:
        return ""
    value = request.COOKIES.get(CLICK_COOKIE, "")
    return value if len(value) <= _COOKIE_MAX_LENGTH else ""


def remember_click(response, request, uid: str) -> None:
    """Add the click `uid` to the visitor's click cookie on `response` (the redirect to
    one of our pages). The cookie lives as long as the attribution window, and each new
    click renews it."""
    uids = [u for u in clicks_of_cookie(click_cookie_of(request)) if u != uid]
    uids = [*uids, uid][-MAX_CLICKS:]
    value = signing.TimestampSigner(salt=_SALT).sign(".".join(uids))
    response.set_cookie(
        CLICK_COOKIE,
        value,
        max_age=int(window().total_seconds()),
        path="/",
        secure=request.is_secure() or settings.SITE_BASE_URL.startswith("https:"),
        httponly=True,
        samesite="Lax",
    )


def with_click_param(url: str, uid: str) -> str:
    """`url` with the signed click id added to its query (before any fragment)."""
    parts = urlsplit(url)
    query = f"{parts.query}&" if parts.query else ""
    return urlunsplit(parts._replace(query=f"{query}{CLICK_PARAM}={sign_click(uid)}"))


# Own-site path prefixes whose pages read the message token (apps add theirs in ready()).
_MESSAGE_PATHS: list[str] = []


def carry_message_to(path_prefix: str) -> None:
    """Have the redirect pass a click's message token on to our pages under
    `path_prefix` (e.g. "/surveys/")."""
    if path_prefix not in _MESSAGE_PATHS:
        _MESSAGE_PATHS.append(path_prefix)


def with_message_param(url: str, token: str) -> str | None:
    """`url` with `m=<token>` added when its path is one that reads the message token
    (the caller has checked it is our own site), else None."""
    if not token or not TOKEN_RE.match(token):
        return None
    parts = urlsplit(url)
    if not any(parts.path.startswith(prefix) for prefix in _MESSAGE_PATHS):
        return None
    query = f"{parts.query}&m={token}" if parts.query else f"m={token}"
    return urlunsplit(parts._replace(query=query))
