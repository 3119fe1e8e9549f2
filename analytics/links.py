"""Tracked links: the `/t/<code>` URLs that stand for an outbound destination.

Public contract (other apps call these):

- tracked_url(url, *, publication, campaign, page, channel, medium) -> str
- rewrite_links(html, *, ...) -> str
- get_or_create_tracked_link(url, ...) -> TrackedLink
- link_key(url, ...) -> str: the identity a link is stored under (one lookup for many)
- validate_destination(url) -> str, raising InvalidDestination
- HREF_RE: an `<a href>` in HTML (group 3 the raw URL)

Creating links needs the database only: importing this module starts no thread and
connects to no queue (the email, render and channel code import it while sending).
"""

import hashlib
import html as html_lib
import logging
import re
import secrets
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.db import IntegrityError, transaction

from campaigns.models import Campaign, Publication

from .models import TrackedLink

logger = logging.getLogger(__name__)

# Default utm_medium per channel family when the caller gives none.
MEDIUM_BY_CHANNEL = {
    "email": "email",
    "ezine": "email",
    "forum": "social",
    "blog": "referral",
    "manual": "referral",
    # Outbound links on our own hub's pages (analytics.hub_links), attributed to the page.
    "hub": "referral",
}


class InvalidDestination(ValueError):
    """The URL cannot be a tracked link's destination (not an absolute http(s) URL)."""


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
    channel = _channel(channel)
    medium = _medium(channel, medium)
    page_id = _pk(page)
    key = link_key(
        url,
        publication=publication,
        campaign=campaign,
        page=page_id,
        channel=channel,
        medium=medium,
        label=label,
    )
    existing = TrackedLink.objects.filter(link_key=key).first()
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
                # 16 characters, 96 random bits: unguessable, and short (link_cache.CODE_RE).
                code=secrets.token_urlsafe(12),
                link_key=key,
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
        return TrackedLink.objects.get(link_key=key)


def _channel(channel) -> str:
    return (channel or "")[:40]


def _medium(channel: str, medium) -> str:
    return (medium or MEDIUM_BY_CHANNEL.get(channel, "referral" if channel else ""))[:40]


def link_key(
    url: str, *, publication=None, campaign=None, page=None, channel="", medium="", label=""
) -> str:
    """The key a link is stored under (TrackedLink.link_key) for a validated `url` and a
    placement given as ids or objects, channel and medium defaulted as
    get_or_create_tracked_link does. Lets a caller find many existing links in one query
    (analytics.hub_links) and still share rows with get_or_create_tracked_link."""
    channel = _channel(channel)
    medium = _medium(channel, medium)
    identity = "|".join(
        [str(_pk(publication)), str(_pk(campaign)), str(_pk(page)), channel, medium, label, url]
    )
    return hashlib.sha256(identity.encode()).hexdigest()


def tracked_url(url, *, publication=None, campaign=None, page=None, channel="", medium="") -> str:
    """Absolute `<SITE_BASE_URL>/t/<code>` URL redirecting to `url` with UTM added.
    Raises InvalidDestination for anything but an absolute http(s) URL."""
    return get_or_create_tracked_link(
        url, publication=publication, campaign=campaign, page=page, channel=channel, medium=medium
    ).short_url


HREF_RE = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)


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

    return HREF_RE.sub(replace, str(html))
