"""Page models and their rules, public rendering, SEO markup, feeds, sitemap, robots."""

import json
import re

import feedparser
import pytest
from django.core.exceptions import ValidationError
from lxml import etree

from content.models import (
    BlogIndexPage,
    BlogPostPage,
    EmailIssuePage,
    EZineIssuePage,
    EZinePage,
    HomePage,
    SoftArticlePage,
)
from tests.factories import add_child, make_blog, make_post, make_soft_article

pytestmark = pytest.mark.django_db


def test_page_tree_rules():
    assert BlogPostPage.can_create_at(BlogIndexPage()) is True
    assert BlogPostPage.can_create_at(HomePage()) is False
    assert SoftArticlePage.can_create_at(BlogIndexPage()) is True
    assert EZineIssuePage.can_create_at(EZinePage()) is True
    assert EZineIssuePage.can_create_at(BlogIndexPage()) is False
    assert EmailIssuePage.can_create_at(BlogIndexPage()) is False
    assert BlogIndexPage.allowed_subpage_models() == [BlogPostPage, SoftArticlePage]
    assert EZinePage.allowed_subpage_models() == [EZineIssuePage]
    assert BlogPostPage.allowed_subpage_models() == []


def test_soft_article_requires_sponsor_and_disclosure(home_page):
    blog = make_blog(home_page)
    page = SoftArticlePage(title="Advert", slug="advert", sponsor="", disclosure_label="")
    with pytest.raises(ValidationError) as excinfo:
        blog.add_child(instance=page)
    assert "sponsor" in excinfo.value.message_dict
    assert "disclosure_label" in excinfo.value.message_dict

    page = SoftArticlePage(
        title="Advert", slug="advert", sponsor="Acme", disclosure_label="Totally organic"
    )
    with pytest.raises(ValidationError) as excinfo:
        page.full_clean()
    assert "disclosure_label" in excinfo.value.message_dict


def test_soft_article_shows_disclosure_and_sponsor(client, home_page):
    article = make_soft_article(make_blog(home_page), disclosure_label="广告", sponsor="华露茶饮")
    html = client.get(article.url).content.decode()
    assert 'class="disclosure"' in html
    assert "广告" in html and "华露茶饮" in html


def test_public_page_renders_seo_fields_and_json_ld(client, home_page):
    post = make_post(
        make_blog(home_page),
        title="Spring sale guide",
        seo_title="The spring sale guide for 2026",
        search_description="Everything about the spring sale.",
        canonical_url="https://canonical.example.com/spring",
        focus_keyphrase="spring sale",
        author_name="Dana </script><script>alert(1)</script>",
    )
    html = client.get(post.url).content.decode()
    assert "<title>The spring sale guide for 2026" in html
    assert '<meta name="description" content="Everything about the spring sale.">' in html
    assert '<link rel="canonical" href="https://canonical.example.com/spring">' in html
    scripts = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert len(scripts) == 1
    data = json.loads(scripts[0])
    assert data["@type"] == "Article"
    assert data["headline"] == "The spring sale guide for 2026"
    assert data["mainEntityOfPage"] == "https://canonical.example.com/spring"
    assert data["author"]["name"].startswith("Dana </script>")  # decoded intact...
    assert "<script>alert" not in scripts[0]  # ...but never breaks out of the script tag


def test_blog_feeds_parse_back(client, home_page):
    blog = make_blog(home_page)
    make_post(blog, title="First post")
    make_post(blog, title="第二篇文章", slug="second")
    make_soft_article(blog, title="Sponsored thing", slug="sponsored-thing")
    rss = client.get(blog.url + "rss/")
    atom = client.get(blog.url + "atom/")
    assert rss["Content-Type"].startswith("application/rss+xml")
    assert atom["Content-Type"].startswith("application/atom+xml")
    for response in (rss, atom):
        feed = feedparser.parse(response.content)
        assert not feed.bozo, feed.bozo_exception
        titles = {entry.title for entry in feed.entries}
        assert titles == {"First post", "第二篇文章", "[Sponsored] Sponsored thing"}
        assert all(entry.link.startswith("http://testserver/") for entry in feed.entries)
    assert feedparser.parse(atom.content).version == "atom10"
    assert feedparser.parse(rss.content).version == "rss20"


def test_unpublished_posts_stay_out_of_feeds_and_sitemap(client, home_page):
    blog = make_blog(home_page)
    make_post(blog, title="Live post")
    make_post(blog, title="Draft post", slug="draft-post", publish=False)
    feed = feedparser.parse(client.get(blog.url + "rss/").content)
    assert [e.title for e in feed.entries] == ["Live post"]
    sitemap = client.get("/sitemap.xml").content.decode()
    assert "/draft-post/" not in sitemap


def test_sitemap_lists_live_pages(client, home_page):
    blog = make_blog(home_page)
    post = make_post(blog, title="Mapped")
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    tree = etree.fromstring(response.content)
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    locs = [loc.text for loc in tree.findall(".//s:loc", ns)]
    assert f"http://testserver{post.url}" in locs
    assert f"http://testserver{blog.url}" in locs


def test_robots_txt_points_to_sitemap_and_hides_admin(client, settings):
    settings.SITE_BASE_URL = "https://hub.example.com"
    body = client.get("/robots.txt").content.decode()
    assert "Disallow: /admin/" in body
    assert "Disallow: /t/" in body
    # BASE_URL's sitemap, whatever Host the crawler sent.
    assert "Sitemap: https://hub.example.com/sitemap.xml" in body


def test_ezine_lists_its_issues(client, home_page):
    import datetime

    ezine = add_child(home_page, EZinePage(title="Growth Notes", slug="growth-notes"))
    add_child(
        ezine,
        EZineIssuePage(
            title="Issue one", slug="one", issue_number=1, issue_date=datetime.date(2026, 1, 5)
        ),
    )
    add_child(
        ezine,
        EZineIssuePage(
            title="Issue two", slug="two", issue_number=2, issue_date=datetime.date(2026, 1, 12)
        ),
    )
    html = client.get(ezine.url).content.decode()
    assert html.index("Issue two") < html.index("Issue one")  # newest first


def test_the_favicon_is_served_so_no_tab_logs_a_404(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content.startswith(b"<svg")
