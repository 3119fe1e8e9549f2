"""content.disclosure: the approved labels and the one spelling of a page's disclosure,
and the hub's own pages and feeds that show it."""

import feedparser
import pytest

from content.disclosure import (
    APPROVED_DISCLOSURES,
    disclosure_html,
    disclosure_label,
    disclosure_text,
    email_subject_prefix,
    labelled,
    labelled_subject,
)
from content.models import DISCLOSURE_CHOICES, BlogPostPage, SoftArticlePage
from tests.factories import make_blog, make_post, make_soft_article


def soft(**fields) -> SoftArticlePage:
    return SoftArticlePage(**{"title": "Blender", "sponsor": "Acme", **fields})


def test_the_approved_labels_are_the_page_field_choices():
    assert [label for label, _name in DISCLOSURE_CHOICES] == [d.label for d in APPROVED_DISCLOSURES]
    assert [label for label, _name in DISCLOSURE_CHOICES] == [
        "Sponsored", "广告", "Advertisement", "赞助内容",
    ]  # fmt: skip
    assert SoftArticlePage._meta.get_field("disclosure_label").choices == DISCLOSURE_CHOICES


def test_a_page_nobody_paid_for_discloses_nothing():
    post = BlogPostPage(title="Guide", excerpt="Plan early.")
    assert disclosure_label(post) == disclosure_text(post) == disclosure_html(post) == ""
    assert labelled("Guide", post) == "Guide"
    assert email_subject_prefix(post) == ""
    assert labelled_subject("Guide", post) == "Guide"


def test_the_disclosure_in_the_pages_language_unless_told():
    page = soft(disclosure_label="广告", sponsor="某厨具 <b>", language="zh-hans")
    assert disclosure_text(page) == "广告 · 由 某厨具 <b> 付费"
    assert disclosure_text(page, language="en") == "广告 · Paid for by 某厨具 <b>"
    assert disclosure_html(page) == "<p><strong>广告</strong> · 由 某厨具 &lt;b&gt; 付费</p>"


def test_a_sponsored_page_without_a_label_still_gets_one():
    assert disclosure_text(soft(disclosure_label="  ")) == "Sponsored · Paid for by Acme"
    assert disclosure_html(soft(disclosure_label="Advertisement", sponsor="")) == (
        "<p><strong>Advertisement</strong></p>"
    )


def test_prefixes_take_the_localised_bracket_form():
    english = soft(disclosure_label="Sponsored", language="en")
    chinese = soft(disclosure_label="广告", language="zh-hans")
    assert labelled("Blender", english) == "[Sponsored] Blender"
    # Full-width brackets carry their own spacing.
    assert labelled("搅拌机", chinese) == "【广告】搅拌机"
    assert labelled("Blender", soft(disclosure_label="广告", language="en")) == "[广告] Blender"
    # Nothing to open: a channel then makes its excerpt from the body, which opens with it.
    assert labelled("", english) == ""
    # Typed in already (an override): not twice.
    assert labelled("[Sponsored] Blender", english) == "[Sponsored] Blender"


def test_the_email_subject_prefix_is_set_per_label():
    assert email_subject_prefix(soft(disclosure_label="Sponsored")) == "[Sponsored]"
    assert email_subject_prefix(soft(disclosure_label="广告", language="zh-hans")) == "【广告】"
    page = soft(disclosure_label="赞助内容", language="zh-hans")
    assert email_subject_prefix(page) == "【广告】"
    assert labelled_subject("搅拌机", page) == "【广告】搅拌机"
    assert labelled("搅拌机", page) == "【赞助内容】搅拌机"


@pytest.mark.django_db
def test_the_hub_shows_the_same_disclosure_first(client, home_page):
    blog = make_blog(home_page)
    article = make_soft_article(blog, disclosure_label="广告", sponsor="华露茶饮")
    html = client.get(article.url).content.decode()
    assert '<p class="disclosure" role="note">广告 · Paid for by 华露茶饮</p>' in html
    assert html.index('class="disclosure"') < html.index("<h1>")
    listing = client.get(blog.url).content.decode()
    assert '<span class="disclosure">广告</span>' in listing


@pytest.mark.django_db
def test_feed_titles_take_the_pages_bracket_form(client, home_page):
    blog = make_blog(home_page)
    make_post(blog, title="普通文章", slug="plain", language="zh-hans")
    make_soft_article(
        blog, title="春季促销", slug="cn", disclosure_label="广告", language="zh-hans"
    )
    make_soft_article(blog, title="Blender", slug="en", disclosure_label="Sponsored")
    feed = feedparser.parse(client.get(blog.url + "rss/").content)
    assert {entry.title for entry in feed.entries} == {
        "普通文章", "【广告】春季促销", "[Sponsored] Blender",
    }  # fmt: skip
