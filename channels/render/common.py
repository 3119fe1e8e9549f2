"""What every renderer of a post shares: the page's title and excerpt with the
publication's overrides, its tags and category, the links in the body, and the one
place a post's `Rendered` is put together (`build_rendered`). The disclosure itself is
spelled in content.disclosure.

The inbox (channels.email.rendering) renders a message, not a post: a subject and a
preheader, no tags, category or excerpt. It builds its own, smaller Rendered.
"""

from __future__ import annotations

from bs4 import BeautifulSoup

from channels.base import Rendered
from content.disclosure import labelled


def page_title(page, publication) -> str:
    return (publication.title_override or page.title or "").strip()


def page_excerpt(page, publication) -> str:
    if publication.excerpt_override:
        return publication.excerpt_override.strip()
    if hasattr(page, "get_excerpt"):
        return page.get_excerpt() or ""
    return getattr(page, "search_description", "") or ""


def publication_category(publication) -> str:
    """The publication's forum category, else the account's default one."""
    return publication.forum_category or publication.channel_account.settings.get("category", "")


def collect_links(html: str) -> list[str]:
    soup = BeautifulSoup(html, "html.parser")
    return list(dict.fromkeys(a["href"] for a in soup.find_all("a") if a.get("href")))


def build_rendered(
    page,
    publication,
    *,
    html: str,
    text: str,
    canonical_url: str,
    markdown: str = "",
    title: str | None = None,
    excerpt: str | None = None,
    category: str | None = None,
    extra: dict | None = None,
) -> Rendered:
    """A post of `page` for `publication`. Title, excerpt and category default to the
    page's with the publication's overrides (a channel passes its own when it takes
    them elsewhere); the excerpt, whoever gave it, opens with the page's disclosure
    label (channels show it apart from the body: WordPress's feeds and archives,
    MetaWeblog's mt_excerpt); tags are always the publication's; `extra["links"]` lists
    the links in `html` (the manual channel's checklist), then come the channel's
    `extra`."""
    if excerpt is None:
        excerpt = page_excerpt(page, publication)
    return Rendered(
        title=page_title(page, publication) if title is None else title,
        html=html,
        markdown=markdown,
        text=text,
        excerpt=labelled(excerpt, page),
        tags=publication.tag_list,
        category=publication_category(publication) if category is None else category,
        canonical_url=canonical_url,
        extra={"links": collect_links(html), **(extra or {})},
    )
