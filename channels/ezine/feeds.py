"""Partner feeds: fetched through the SSRF-guarded client, parsed by feedparser from
bytes (it never opens a URL itself), and every bit of HTML sanitised by nh3.

A feed that cannot be fetched or parsed raises FeedError with a message for the e-zine's
page; callers skip it and carry on.
"""

from __future__ import annotations

import html as html_lib
import io
from dataclasses import dataclass
from urllib.parse import urlsplit

import feedparser
import httpx

from channels.http import fetch_bytes
from content.sanitize import sanitize_html, strip_tags

MAX_FEED_BYTES = 2 * 1024 * 1024


class FeedError(Exception):
    pass


@dataclass
class FeedItem:
    title: str
    link: str
    summary_html: str


def safe_link(url: str) -> str:
    """Only absolute http(s) links survive (no javascript:, data:, relative tricks)."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme.lower() in ("http", "https") and parts.netloc:
        return url
    return ""


def parse_feed(data: bytes, max_items: int = 20) -> list[FeedItem]:
    """Items of a feed given as bytes. Never raises for malformed input except
    FeedError when nothing usable could be read."""
    try:
        # A stream, never bytes: given bytes, feedparser first tries them as a file path.
        parsed = feedparser.parse(io.BytesIO(data), sanitize_html=True, resolve_relative_uris=False)
    except Exception as exc:  # noqa: BLE001 - feedparser on hostile input
        raise FeedError(f"unreadable feed: {exc}") from exc
    if not parsed.entries:
        if parsed.get("bozo"):
            raise FeedError(f"broken feed: {parsed.get('bozo_exception')}")
        return []
    items = []
    for entry in parsed.entries[:max_items]:
        title = strip_tags(entry.get("title", "")).strip()[:300]
        summary = ""
        if entry.get("content"):
            summary = entry["content"][0].get("value", "")
        summary = summary or entry.get("summary", "") or entry.get("description", "")
        items.append(
            FeedItem(
                title=title or "(untitled)",
                link=safe_link(entry.get("link", "")),
                summary_html=sanitize_html(summary)[:5000],
            )
        )
    return items


def fetch_feed(url: str, *, allow_internal: bool = False, max_items: int = 20) -> list[FeedItem]:
    try:
        data = fetch_bytes(url, allow_internal=allow_internal, max_bytes=MAX_FEED_BYTES)
    except httpx.HTTPError as exc:
        raise FeedError(f"cannot fetch {url}: {exc}") from exc
    return parse_feed(data, max_items=max_items)


def item_html(item: FeedItem, source: str) -> str:
    """One partner item as safe HTML (sanitised again as a whole, belt and braces)."""
    title = html_lib.escape(item.title)
    head = f'<a href="{html_lib.escape(item.link)}">{title}</a>' if item.link else title
    return sanitize_html(
        f"<h3>{head}</h3>{item.summary_html}<p><small>{html_lib.escape(source)}</small></p>"
    )
