"""Outbound links on our own hub's pages, tracked: every off-site `<a href>` in a hub
page's rendered HTML becomes the page's tracked link (`/t/<code>`, channel "hub"),
created once per (page, URL) and found again on every later view with one query.

Public contract: HUB_CHANNEL, track_hub_links(html, page_id, *, request_host="") -> str.

Called by the hub's base template (templatetags/hub_link_tags.py). A hub link belongs
to the page, not to a campaign: the campaign a visit came through is added to the
click when it is stored (analytics.visits, analytics.events).
"""

import html as html_lib
import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.db import DatabaseError, transaction

from .links import (
    HREF_RE,
    InvalidDestination,
    get_or_create_tracked_link,
    link_key,
    validate_destination,
)
from .models import TrackedLink

logger = logging.getLogger(__name__)

HUB_CHANNEL = "hub"


def _own_hosts(request_host: str) -> set[str]:
    """Host names that are this site: SITE_BASE_URL's, and the one the page was served
    on (a Wagtail site under another name). Ports are ignored: same host, same site."""
    hosts = {urlsplit(settings.SITE_BASE_URL).hostname or ""}
    if request_host:
        hosts.add(urlsplit(f"//{request_host}").hostname or "")
    return hosts - {""}


def _external_url(raw: str, own_hosts: set[str]) -> str | None:
    """The absolute URL an href leads off-site to, or None for links that stay direct:
    relative paths, anchors, mailto:, tel:, other schemes, and our own host."""
    url = html_lib.unescape(raw).strip()
    if url.startswith("//"):  # protocol-relative: off-site unless it names our host
        url = f"{urlsplit(settings.SITE_BASE_URL).scheme or 'https'}:{url}"
    if not url.lower().startswith(("http://", "https://")):
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:
        host = None
    if host in own_hosts:
        return None
    try:
        return validate_destination(url)
    except InvalidDestination:
        logger.info("not tracking invalid hub link %r", url[:200])
        return None


def _short_urls(urls: set[str], page_id: int) -> dict[str, str]:
    """URL -> tracked short URL for one page: one SELECT for the links it already has,
    a create only for a URL seen for the first time (so a view of a page whose links
    exist writes nothing)."""
    keys = {url: link_key(url, page=page_id, channel=HUB_CHANNEL) for url in urls}
    codes = dict(
        TrackedLink.objects.filter(link_key__in=list(keys.values())).values_list("link_key", "code")
    )
    base = settings.SITE_BASE_URL.rstrip("/")
    found = {url: f"{base}/t/{codes[key]}" for url, key in keys.items() if key in codes}
    for url in sorted(urls - found.keys()):
        try:
            # A savepoint: a failed write must not break the page's transaction, if any.
            with transaction.atomic():
                found[url] = get_or_create_tracked_link(
                    url, page=page_id, channel=HUB_CHANNEL
                ).short_url
        except DatabaseError:
            # The page still renders, with this link direct, rather than fail.
            logger.exception("could not store the hub link %r of page %s", url[:200], page_id)
    return found


def track_hub_links(html: str, page_id: int, *, request_host: str = "") -> str:
    """`html` with every off-site `<a href>` replaced by page `page_id`'s tracked link
    for it; every other link, and any link that could not be stored, left as it was."""
    if not html or not page_id:
        return html
    own_hosts = _own_hosts(request_host)
    matches = [(m, _external_url(m.group(3), own_hosts)) for m in HREF_RE.finditer(html)]
    urls = {url for _, url in matches if url}
    if not urls:
        return html
    short = _short_urls(urls, page_id)
    out, last = [], 0
    for match, url in matches:
        if url and url in short:
            out.append(html[last : match.start(3)])
            out.append(html_lib.escape(short[url]))
            last = match.end(3)
    out.append(html[last:])
    return "".join(out)
