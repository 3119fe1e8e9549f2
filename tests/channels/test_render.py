"""Renderers: clean HTML and Markdown with tracked links, the disclosure, the canonical
link back to the hub, absolute image URLs, embeds as links and per-publication overrides."""

import pytest
from bs4 import BeautifulSoup
from django.conf import settings
from wagtail.embeds.blocks import EmbedValue

from channels.render import render_html, render_markdown
from tests.factories import make_post, make_soft_article

from .helpers import make_image

pytestmark = pytest.mark.django_db
TRACKED = settings.SITE_BASE_URL + "/t/"


def test_soft_article_html_has_disclosure_first_tracked_links_and_canonical(make_publication, blog):
    publication = make_publication("blog/wordpress", soft=True)
    rendered = render_html(publication.page, publication)
    soup = BeautifulSoup(rendered.html, "html.parser")
    first = soup.find("p")
    assert first.find("strong").get_text() == "Sponsored"
    assert "Acme Kitchens" in first.get_text()
    hrefs = [a["href"] for a in soup.find_all("a")]
    page_url = publication.page.get_full_url()
    assert hrefs[-1] == page_url  # canonical back-link, untracked on purpose
    assert rendered.canonical_url == page_url
    assert all(h.startswith(TRACKED) for h in hrefs[:-1]) and hrefs[:-1]
    assert "acme.example.com" not in rendered.html
    assert rendered.extra["links"][0].startswith(TRACKED)


def test_blog_post_has_no_disclosure(make_publication):
    publication = make_publication("blog/wordpress")
    rendered = render_html(publication.page, publication)
    assert "Sponsored" not in rendered.html


def test_overrides_apply(make_publication):
    publication = make_publication(
        "forum/discourse",
        settings={"category": "Default"},
        title_override="Override title",
        excerpt_override="Override excerpt",
        tags="a, b ,, c",
        forum_category="Deals",
    )
    for rendered in (
        render_html(publication.page, publication),
        render_markdown(publication.page, publication),
    ):
        assert rendered.title == "Override title"
        assert rendered.excerpt == "Override excerpt"
        assert rendered.tags == ["a", "b", "c"]
        assert rendered.category == "Deals"
    publication.forum_category = ""
    assert render_html(publication.page, publication).category == "Default"


def test_blocks_images_embeds_headings_quotes(make_publication, blog):
    image = make_image()
    page = make_post(
        blog,
        title="Blocks",
        body=[
            ("heading", {"text": "Why <now>?", "level": "h3"}),
            (
                "paragraph",
                '<ul><li>one</li><li>two <a href="https://x.example.com/a">x</a></li></ul>',
            ),
            ("image", {"image": image, "alt_text": "A red blender", "caption": "Our pick"}),
            ("embed", EmbedValue("https://www.youtube.com/watch?v=abc")),
            ("quote", {"text": "Best blender", "attribution": "A. Critic"}),
            ("call_to_action", {"text": "Buy now", "url": "https://shop.example.com/buy"}),
            ("html", '<p onclick="x()">raw<script>alert(1)</script></p>'),
        ],
    )
    publication = make_publication("blog/wordpress", page=page)
    html = render_html(page, publication).html
    soup = BeautifulSoup(html, "html.parser")
    assert soup.find("h3").get_text() == "Why <now>?"
    assert [li.get_text() for li in soup.find_all("li")] == ["one", "two x"]
    img = soup.find("img")
    assert img["src"].startswith(settings.SITE_BASE_URL + "/media/")
    assert img["alt"] == "A red blender"
    assert soup.find("figcaption").get_text() == "Our pick"
    # The embed became a plain, tracked link (its text may still show the address).
    assert "<iframe" not in html
    assert not any("youtube.com" in a["href"] for a in soup.find_all("a"))
    assert soup.find("a", string="https://www.youtube.com/watch?v=abc")["href"].startswith(TRACKED)
    assert soup.find("blockquote").get_text(" ", strip=True) == "Best blender — A. Critic"
    assert "<script" not in html and "onclick" not in html

    md = render_markdown(page, publication).markdown
    assert "### Why \\<now\\>?" in md
    assert "- one" in md
    assert f"![A red blender]({settings.SITE_BASE_URL}/media/" in md
    assert "> Best blender" in md
    assert f"**Buy now**]({TRACKED}" in md


def test_markdown_has_disclosure_and_canonical(make_publication):
    publication = make_publication("forum/discourse", soft=True)
    md = render_markdown(publication.page, publication).markdown
    assert md.startswith("**Sponsored** · Paid for by Acme Kitchens\n")
    assert md.rstrip().endswith(f"]({publication.page.get_full_url()})")


def test_chinese_soft_article_disclosure(make_publication, blog):
    page = make_soft_article(
        blog,
        slug="cn-article",
        title="春季促销指南",
        disclosure_label="广告",
        sponsor="某厨具",
        language="zh-hans",
    )
    publication = make_publication("forum/discourse", page=page)
    md = render_markdown(page, publication).markdown
    assert md.startswith("**广告** · 由 某厨具 付费\n")


def test_relative_internal_links_become_absolute(make_publication, blog):
    target = make_post(blog, title="Target post")
    page = make_post(
        blog,
        title="Linking",
        body=[("paragraph", f'<p><a linktype="page" id="{target.pk}">see</a></p>')],
    )
    publication = make_publication("blog/wordpress", page=page)
    rendered = render_html(page, publication)
    # Internal links are outbound from the external blog's point of view: tracked too.
    body_links = [link for link in rendered.extra["links"] if link != rendered.canonical_url]
    assert body_links and all(link.startswith(TRACKED) for link in body_links)
    assert "/t/" not in rendered.canonical_url and rendered.canonical_url.startswith("http")


def test_unknown_flavour_is_refused(make_publication):
    publication = make_publication("blog/wordpress")
    with pytest.raises(ValueError):
        render_html(publication.page, publication, flavour="myspace")
