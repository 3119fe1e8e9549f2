"""The one place a post's Rendered is put together (channels.render.common), and the
channels that build theirs there: external blogs, forums and this hub's own blog."""

import pytest

from channels.base import Rendered
from channels.blog.wagtail_site import WagtailSiteAdapter
from channels.render import render_html, render_markdown
from channels.render.common import build_rendered

pytestmark = pytest.mark.django_db

BODY = '<p>Read <a href="https://a.example/x">this</a>, <a href="https://b.example/">that</a> and <a href="https://a.example/x">this again</a>.</p>'


def test_defaults_come_from_the_page_and_the_publication(make_publication):
    publication = make_publication(
        "forum/discourse", settings={"category": "Default"}, tags="spring, sale"
    )
    page = publication.page.specific
    rendered = build_rendered(
        page, publication, html=BODY, text="plain", canonical_url="https://hub.example/p/"
    )
    assert isinstance(rendered, Rendered)
    assert rendered.title == page.title
    assert rendered.excerpt == page.get_excerpt()
    assert rendered.tags == ["spring", "sale"]
    assert rendered.category == "Default"
    assert (rendered.html, rendered.text, rendered.markdown) == (BODY, "plain", "")
    assert rendered.canonical_url == "https://hub.example/p/"
    # Each link once, in order of appearance.
    assert rendered.extra == {"links": ["https://a.example/x", "https://b.example/"]}


def test_a_channel_can_give_its_own_title_excerpt_category_and_extra(make_publication):
    publication = make_publication(
        "forum/discourse", title_override="  Spaced  ", forum_category="Deals"
    )
    rendered = build_rendered(
        publication.page.specific,
        publication,
        html="<p>No links.</p>",
        text="No links.",
        canonical_url="",
        title="Mine",
        excerpt="",
        category="",
        extra={"flavour": "x"},
    )
    assert (rendered.title, rendered.excerpt, rendered.category) == ("Mine", "", "")
    assert rendered.extra == {"links": [], "flavour": "x"}


def test_publication_overrides_are_stripped_by_default(make_publication):
    publication = make_publication(
        "forum/discourse", title_override="  Spaced title ", excerpt_override=" Short. "
    )
    rendered = build_rendered(publication.page, publication, html="", text="", canonical_url="")
    assert (rendered.title, rendered.excerpt) == ("Spaced title", "Short.")


def test_html_and_markdown_renderings_agree_on_the_shared_fields(make_publication):
    publication = make_publication("forum/discourse", tags="a, b", forum_category="Deals")
    html = render_html(publication.page, publication)
    markdown = render_markdown(publication.page, publication)
    for field in ("title", "excerpt", "tags", "category", "canonical_url"):
        assert getattr(html, field) == getattr(markdown, field), field
    assert html.extra["flavour"] == "wordpress" and "flavour" not in markdown.extra


def test_hub_blog_takes_title_and_excerpt_from_the_approved_revision(make_publication, site):
    publication = make_publication(
        "blog/wagtail_site", tags="news", forum_category="Not for our blog"
    )
    page = publication.page.specific
    approved_title = page.title
    page.title = "A draft title, not approved"
    page.save_revision()
    adapter = WagtailSiteAdapter(publication.channel_account)
    rendered = adapter.render(publication)
    assert rendered.title == approved_title
    assert rendered.category == ""
    assert rendered.tags == ["news"]
    assert rendered.canonical_url == page.get_full_url()
    assert rendered.extra["revision_id"] == page.live_revision_id
