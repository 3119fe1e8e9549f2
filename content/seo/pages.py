"""A content page's SEO: the inputs of `analyse` taken from the page, and the
analysis announced when the page is saved (`page_analysed`).

Storing results is not content's business: analytics keeps one per revision so its
dashboards can show the trend (analytics.seo_store listens to `page_analysed`). Content
never imports analytics; the dependency points the other way.
"""

import html as html_lib
import re

import django.dispatch
from django.conf import settings

from .analysis import analyse
from .result import SeoResult

# Sent by announce_page_analysis (on every save in the page editor, see
# content.wagtail_hooks) with sender=the page's class, page, revision (None for a page
# never saved as a revision) and result (a SeoResult).
page_analysed = django.dispatch.Signal()

_HREF_RE = re.compile(r"""<a\b[^>]*?\bhref\s*=\s*["']([^"']*)["']""", re.IGNORECASE)
_TAG_RE = re.compile(r"<[^>]+>")


def _strip(html: str) -> str:
    return html_lib.unescape(_TAG_RE.sub(" ", html or "")).strip()


def page_inputs(page) -> dict:
    """The inputs of `analyse` for a content page (any SeoFieldsMixin page)."""
    headings, images, hrefs, paragraphs = _body_parts(page)
    for rich in ("editorial", "description", "intro"):
        source = getattr(page, rich, "") or ""
        if isinstance(source, str) and source:
            hrefs.extend(_HREF_RE.findall(source))
            paragraphs.insert(0, _strip(source))
    internal, external = _count_links(hrefs)
    try:
        text = page.get_plain_text()
    except Exception:  # noqa: BLE001 - a half-filled editor form must still be analysed
        text = "\n\n".join(paragraphs)
    title = page.seo_title or page.title or ""
    description = page.search_description or ""
    return {
        "keyphrase": getattr(page, "focus_keyphrase", "") or "",
        "language": getattr(page, "language", "") or "",
        "title": title,
        "description": description,
        "slug": page.slug or "",
        "text": text or "",
        "first_paragraph": next((p for p in paragraphs if p), ""),
        "headings": headings,
        "image_alts": images,
        "internal_links": internal,
        "external_links": external,
    }


def _body_parts(page) -> tuple[list[str], list[str], list[str], list[str]]:
    """(headings, image alt texts, link targets, paragraphs) of the page's body."""
    headings, images, hrefs, paragraphs = [], [], [], []
    for block in getattr(page, "body", None) or []:
        value = block.value
        if block.block_type == "heading":
            headings.append(value["text"])
        elif block.block_type == "paragraph":
            source = getattr(value, "source", str(value))
            hrefs.extend(_HREF_RE.findall(source))
            headings.extend(_strip(h) for h in re.findall(r"<h[2-4][^>]*>(.*?)</h[2-4]>", source))
            paragraphs.append(_strip(source))
        elif block.block_type == "image":
            images.append(value.get("alt_text") or "")
        elif block.block_type in ("call_to_action", "button"):
            hrefs.append(value.get("url") or "")
        elif block.block_type == "html":
            hrefs.extend(_HREF_RE.findall(str(value)))
    return headings, images, hrefs, paragraphs


def _count_links(hrefs: list[str]) -> tuple[int, int]:
    """(links to hub pages, links to outside sources)."""
    own = settings.SITE_BASE_URL.rstrip("/")
    internal = sum(
        1 for h in hrefs if h.startswith("/") and not h.startswith("//") or h.startswith(own)
    )
    internal += sum(1 for h in hrefs if h.startswith("linktype") or "data-linktype" in h)
    external = sum(
        1 for h in hrefs if h.startswith(("http://", "https://")) and not h.startswith(own)
    )
    return internal, external


def analyse_page(page) -> SeoResult:
    return analyse(**page_inputs(page))


def announce_page_analysis(page, revision=None) -> SeoResult:
    """Analyse `page` as saved at `revision` (default: its latest) and send
    `page_analysed`, so whoever keeps analyses (analytics) stores it."""
    result = analyse_page(page)
    revision = revision or getattr(page, "latest_revision", None)
    page_analysed.send(sender=type(page), page=page, revision=revision, result=result)
    return result
