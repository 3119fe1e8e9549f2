"""StreamField -> clean, self-contained HTML for external blogs."""

from __future__ import annotations

import html as html_lib
import re
from urllib.parse import urljoin

from bs4 import BeautifulSoup
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import override
from wagtail.rich_text import expand_db_html

from analytics.links import rewrite_links
from channels.base import Rendered
from content.disclosure import disclosure_html, disclosure_label
from content.sanitize import sanitize_html, strip_tags

from .common import build_rendered

IMAGE_RENDITION = "max-1200x1200"
LEADING_COMMENTS = re.compile(r"(?:\s*<!--.*?-->)*\s*", re.DOTALL)


def site_base_url() -> str:
    return settings.SITE_BASE_URL.rstrip("/") + "/"


def absolute_url(url: str) -> str:
    """Make a hub-relative URL ("/media/x.jpg", "/blog/post/") absolute; leave others."""
    if not url:
        return url
    url = url.strip()
    if url.startswith("//"):
        return "https:" + url
    if url.startswith("/"):
        return urljoin(site_base_url(), url.lstrip("/"))
    return url


def _esc(text) -> str:
    return html_lib.escape(str(text or ""), quote=True)


def _image_html(value) -> str:
    image = value.get("image")
    if image is None:
        return ""
    try:
        src = absolute_url(image.get_rendition(IMAGE_RENDITION).url)
    except Exception:  # noqa: BLE001 - a missing file must not block the whole post
        src = absolute_url(image.file.url) if image.file else ""
    if not src:
        return ""
    alt = value.get("alt_text") or image.title
    caption = value.get("caption") or ""
    figcaption = f"<figcaption>{_esc(caption)}</figcaption>" if caption else ""
    return f'<figure><img src="{_esc(src)}" alt="{_esc(alt)}">{figcaption}</figure>'


def _block_html(block) -> str:
    kind, value = block.block_type, block.value
    if kind == "heading":
        level = value.get("level") if value.get("level") in ("h2", "h3", "h4") else "h2"
        return f"<{level}>{_esc(value.get('text'))}</{level}>"
    if kind == "paragraph":
        return expand_db_html(value.source)
    if kind == "image":
        return _image_html(value)
    if kind == "quote":
        attribution = value.get("attribution")
        cite = f"<p>— {_esc(attribution)}</p>" if attribution else ""
        return f"<blockquote><p>{_esc(value.get('text'))}</p>{cite}</blockquote>"
    if kind == "embed":
        # External blogs and forums do not run our oEmbed iframes (and many strip
        # them): a plain link survives everywhere and can be tracked.
        url = getattr(value, "url", "") or ""
        return f'<p><a href="{_esc(url)}">{_esc(url)}</a></p>' if url else ""
    if kind in ("call_to_action", "button"):
        return (
            f'<p><a href="{_esc(value.get("url"))}"><strong>{_esc(value.get("text"))}'
            "</strong></a></p>"
        )
    if kind == "html":
        return sanitize_html(str(value or ""))
    if kind == "divider":
        return "<hr>"
    return ""


def _absolutize(html: str) -> str:
    soup = BeautifulSoup(html, "html.parser")
    for tag, attr in (("a", "href"), ("img", "src")):
        for node in soup.find_all(tag):
            if node.get(attr):
                node[attr] = absolute_url(node[attr])
    return str(soup)


def canonical_url_for(page) -> str:
    try:
        url = page.get_canonical_url() if hasattr(page, "get_canonical_url") else ""
        url = url or page.get_full_url()
    except Exception:  # noqa: BLE001 - a page outside any site has no full URL
        url = ""
    return absolute_url(url or "")


def canonical_html(url: str, language: str | None) -> str:
    if not url:
        return ""
    with override(language or settings.LANGUAGE_CODE):
        text = _("Originally published at")
    return f'<p>{_esc(text)} <a href="{_esc(url)}">{_esc(url)}</a></p>'


def track_links(html: str, publication, page) -> str:
    """Every http(s) link -> our tracked link."""
    account = publication.channel_account
    return rewrite_links(
        html,
        publication=publication,
        campaign=publication.campaign,
        page=page,
        channel=account.channel,
        medium=account.kind.rpartition("/")[2],
    )


def build_body_html(page, publication, *, with_canonical: bool = True) -> tuple[str, str]:
    """(body HTML with tracked links, canonical URL). The disclosure opens the body (see
    content.disclosure). The canonical link back to the hub is added after link
    rewriting on purpose: search engines only honour it when it points at the real URL,
    not at a redirect."""
    body = getattr(page, "body", None) or []
    parts = [disclosure_html(page)]
    parts.extend(_block_html(block) for block in body)
    html = _absolutize("\n".join(p for p in parts if p))
    html = track_links(html, publication, page)
    canonical = canonical_url_for(page)
    if with_canonical:
        html = html + "\n" + canonical_html(canonical, getattr(page, "language", None))
    # The final pass: whatever the blocks produced, only allow-listed markup leaves us.
    return sanitize_html(html).strip(), canonical


def insert_after_disclosure(html: str, page, fragment: str) -> str:
    """`html`, a body from build_body_html (maybe behind lookup-marker comments), with
    `fragment` (MetaWeblog's cover image) placed right after the page's disclosure:
    nothing a reader sees may come before it. The disclosure is the body's first
    paragraph and holds no other, so it ends at the first `</p>`. Without a disclosure
    the fragment opens the body, after the leading comments."""
    if disclosure_label(page):
        end = html.find("</p>")
        if end != -1:
            end += len("</p>")
            return f"{html[:end]}\n{fragment}{html[end:]}"
    comments = LEADING_COMMENTS.match(html).end()
    return f"{html[:comments]}{fragment}\n{html[comments:]}"


def render_html(page, publication, *, flavour: str = "wordpress") -> Rendered:
    """Render `page` for an external blog. `flavour` is "wordpress" or "metaweblog"
    (both take the same HTML today; the flag keeps room for a platform's quirks)."""
    if flavour not in ("wordpress", "metaweblog"):
        raise ValueError(f"unknown HTML flavour {flavour!r}")
    page = page.specific
    html, canonical = build_body_html(page, publication)
    return build_rendered(
        page,
        publication,
        html=html,
        text=strip_tags(html),
        canonical_url=canonical,
        extra={"flavour": flavour},
    )
