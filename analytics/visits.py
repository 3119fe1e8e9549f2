"""The campaign a hub visit came through: a signed first-party cookie set by the
redirect when a campaign's tracked link leads to our own site, read back when the
visitor then clicks an outbound link on a hub page (analytics.hub_links), so that click
counts for the campaign as well as the page.

Public contract: VISIT_COOKIE, VISIT_MAX_AGE, is_own_site(url) -> bool,
remember_visit(response, request, campaign_id, publication_id),
visit_cookie_of(request) -> str, parse_visit(value) -> (campaign id, publication id) | None.

The cookie holds two ids and a timestamp, signed (django.core.signing, its own salt):
no person, no address, nothing a visitor could change without the signature failing.
"""

import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.signals import setting_changed
from django.dispatch import receiver

VISIT_COOKIE = "hub_via"
# How long a campaign's visit keeps its later hub clicks (cookie lifetime and the
# signature's maximum age, so a kept or copied cookie expires on our side too).
VISIT_MAX_AGE = datetime.timedelta(days=30)
_SALT = "analytics.visit"
_MAX_LENGTH = 120  # "<id>.<id>:<timestamp>:<signature>" is about 60 characters

# The prefixes of URLs on SITE_BASE_URL's origin, made once (and again when the setting
# changes): the redirect asks for every click.
_own_prefixes: tuple[str, ...] = ()


@receiver(setting_changed)
def _forget_own_prefixes(setting, **kwargs):
    global _own_prefixes
    if setting == "SITE_BASE_URL":
        _own_prefixes = ()


def is_own_site(url: str) -> bool:
    """Whether `url` is on our own site (SITE_BASE_URL's host and port, http or https):
    where a visit cookie set by the redirect will be sent back."""
    global _own_prefixes
    if not _own_prefixes:
        netloc = urlsplit(settings.SITE_BASE_URL).netloc.lower()
        _own_prefixes = tuple(
            f"{scheme}://{netloc}{end}" for scheme in ("https", "http") for end in "/?#"
        )
    return url.startswith(_own_prefixes)


def remember_visit(response, request, campaign_id: int, publication_id: int) -> None:
    """Set the visit cookie on `response` (the redirect to one of our pages)."""
    value = signing.TimestampSigner(salt=_SALT).sign(f"{int(campaign_id)}.{int(publication_id)}")
    response.set_cookie(
        VISIT_COOKIE,
        value,
        max_age=int(VISIT_MAX_AGE.total_seconds()),
        path="/",
        secure=request.is_secure() or settings.SITE_BASE_URL.startswith("https:"),
        httponly=True,
        samesite="Lax",
    )


def visit_cookie_of(request) -> str:
    """The raw visit cookie of `request`, or "" (checked later, by parse_visit).

    On the redirect's hot path: the Cookie header is parsed only when it names ours."""
    header = request.META.get("HTTP_COOKIE")
    if not header or VISIT_COOKIE not in header:
        return ""
    value = request.COOKIES.get(VISIT_COOKIE, "")
    return value if len(value) <= _MAX_LENGTH else ""


def parse_visit(value) -> tuple[int, int] | None:
    """(campaign id, publication id) of a valid visit cookie no older than
    VISIT_MAX_AGE; None for anything else (forged, garbled, expired, signed with a key
    no longer in SECRET_KEY or SECRET_KEY_FALLBACKS)."""
    if not isinstance(value, str) or not value or len(value) > _MAX_LENGTH:
        return None
    try:
        payload = signing.TimestampSigner(salt=_SALT).unsign(value, max_age=VISIT_MAX_AGE)
    except signing.BadSignature:  # SignatureExpired included
        return None
    campaign, _, publication = payload.partition(".")
    if not (campaign.isdigit() and publication.isdigit()) or int(campaign) == 0:
        return None
    return int(campaign), int(publication)
