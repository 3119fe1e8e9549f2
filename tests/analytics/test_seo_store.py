"""SEO analyses kept per page revision (analytics.seo_store): stored when content
announces one (every save in the editor), and the trend the dashboards draw from them."""

import datetime

import pytest
from django.test import RequestFactory
from wagtail import hooks

from analytics import dashboards
from analytics.models import SeoAnalysis
from analytics.seo_store import store_page_analysis
from content.seo import analyse_page, announce_page_analysis
from tests.factories import PublicationFactory, UserFactory, make_blog, make_post

pytestmark = pytest.mark.django_db


def hint(result, code):
    return next(h for h in result.hints if h.check == code)


def test_page_analysis_stored_per_revision(home_page):
    blog = make_blog(home_page)
    post = make_post(
        blog,
        title="Spring sale guide",
        focus_keyphrase="spring sale",
        search_description="Plan your spring sale.",
    )
    result = analyse_page(post)
    assert result.keyphrase == "spring sale"
    assert hint(result, "external_links").level == "good"  # the body links to the shop
    first = store_page_analysis(post)
    assert first.revision == post.latest_revision and first.score == result.score
    assert first.hints == result.hints_as_dicts() and first.language == "en"
    assert store_page_analysis(post).pk == first.pk  # same revision: updated, not added
    post.search_description = (
        "How to plan a spring sale step by step: choose products, set a budget, tell "
        "customers early and measure what worked, for small shops."
    )
    revision = post.save_revision()
    second = store_page_analysis(post, revision)
    assert second.pk != first.pk and second.score > first.score
    assert SeoAnalysis.objects.filter(page=post).count() == 2


def test_an_announced_analysis_is_stored_for_its_revision(home_page):
    post = make_post(
        make_blog(home_page),
        title="春季促销指南",
        language="zh-hans",
        focus_keyphrase="春季促销",
        slug="spring-guide",
    )
    result = announce_page_analysis(post)
    stored = SeoAnalysis.objects.get(page=post)
    assert stored.revision == post.latest_revision
    assert (stored.score, stored.language, stored.keyphrase) == (result.score, "zh", "春季促销")
    announce_page_analysis(post)
    assert SeoAnalysis.objects.filter(page=post).count() == 1


@pytest.mark.parametrize("hook", ["after_create_page", "after_edit_page"])
def test_saving_in_the_editor_stores_the_analysis(home_page, hook):
    post = make_post(make_blog(home_page), focus_keyphrase="spring sale")
    request = RequestFactory().post("/admin/pages/")
    request.user = UserFactory(username="seo-editor", is_superuser=True, is_staff=True)
    for fn in hooks.get_hooks(hook):
        fn(request, post)
    stored = SeoAnalysis.objects.get(page=post)
    assert stored.revision == post.latest_revision
    assert stored.score == analyse_page(post).score


def test_dashboard_trend_averages_the_stored_scores_per_day(home_page):
    blog = make_blog(home_page)
    first = make_post(blog, title="Spring sale guide", focus_keyphrase="spring sale")
    second = make_post(blog, title="Summer sale guide", focus_keyphrase="summer sale")
    publication = PublicationFactory(page=first)
    PublicationFactory(page=second, campaign=publication.campaign)
    scores = [store_page_analysis(first).score, store_page_analysis(second).score]
    draft = store_page_analysis(first, first.save_revision())
    day_before = draft.created_at - datetime.timedelta(days=1)
    SeoAnalysis.objects.filter(pk=draft.pk).update(created_at=day_before, score=10)
    trend = dashboards.seo_trend(publication.campaign_id)
    assert trend == [
        {"bucket": day_before.date().isoformat(), "score": 10.0},
        {"bucket": draft.created_at.date().isoformat(), "score": round(sum(scores) / 2, 1)},
    ]
