"""A content page's SEO (content.seo.pages, panel): inputs taken from the page, the
analysis announced on save, and the panel in the page editor."""

import pytest

from content.seo import analyse_page, announce_page_analysis, page_analysed, page_inputs
from tests.factories import UserFactory, make_blog, make_post

pytestmark = pytest.mark.django_db


def test_inputs_come_from_the_body_and_the_seo_fields(home_page, settings):
    post = make_post(
        make_blog(home_page),
        title="Spring sale guide",
        seo_title="The spring sale guide",
        search_description="Plan it.",
        focus_keyphrase="spring sale",
        body=[
            ("heading", {"text": "Why a spring sale", "level": "h2"}),
            (
                "paragraph",
                "<p>First &amp; foremost.</p><h3>Budget</h3>"
                f'<a href="{settings.SITE_BASE_URL}/blog/">ours</a> <a href="/shop/">ours too</a> '
                '<a href="https://elsewhere.example/">theirs</a>',
            ),
            ("call_to_action", {"text": "Buy", "url": "https://shop.example.com/"}),
        ],
    )
    inputs = page_inputs(post)
    assert inputs["keyphrase"] == "spring sale"
    assert inputs["title"] == "The spring sale guide"
    assert inputs["description"] == "Plan it."
    assert inputs["slug"] == "spring-sale-guide"
    assert inputs["headings"] == ["Why a spring sale", "Budget"]
    assert inputs["first_paragraph"].startswith("First & foremost.")
    assert (inputs["internal_links"], inputs["external_links"]) == (2, 2)
    assert inputs["image_alts"] == []


def test_a_chinese_page_is_analysed_in_characters(home_page):
    post = make_post(
        make_blog(home_page),
        title="春季促销指南",
        slug="spring-sale-guide",
        language="zh-hans",
        focus_keyphrase="春季促销",
        body=[("paragraph", "<p>春季促销是每年最重要的活动之一。</p>")],
    )
    result = analyse_page(post)
    assert result.language == "zh" and result.keyphrase == "春季促销"
    assert next(h for h in result.hints if h.check == "keyphrase_title").level == "good"


def test_announcing_sends_the_result_for_the_latest_revision(home_page):
    post = make_post(make_blog(home_page), focus_keyphrase="spring sale")
    received = []

    def listener(sender, page, revision, result, **kwargs):
        received.append((sender, page, revision, result))

    page_analysed.connect(listener)
    try:
        result = announce_page_analysis(post)
    finally:
        page_analysed.disconnect(listener)
    assert received == [(type(post), post, post.latest_revision, result)]
    assert result.score == analyse_page(post).score


def test_editor_shows_the_panel(client, home_page):
    blog = make_blog(home_page)
    post = make_post(blog, title="Spring sale guide", focus_keyphrase="spring sale")
    admin = UserFactory(username="seo-admin", is_superuser=True, is_staff=True)
    client.force_login(admin)
    response = client.get(f"/admin/pages/{post.pk}/edit/")
    assert response.status_code == 200
    assert f'data-seo-score="{analyse_page(post).score}"'.encode() in response.content
    assert b"SEO score:" in response.content
