"""The SEO section of the campaign dashboard and the home panel "SEO scores to fix":
hints stored as codes read in each reader's language, organic visits by engine, query
columns shown only when something fills them, and the way to connect Search Console or
Baidu Tongji; plus the migration of hints stored as words."""

import datetime
import importlib

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.utils import timezone, translation
from wagtail.users.models import UserProfile

from analytics import rollups
from analytics.models import Event, ImportedSearchQuery, SearchConnection, SeoAnalysis
from analytics.seo_store import store_page_analysis
from content.roles import LEADERSHIP, MARKETERS, sync_role_permissions
from tests.factories import PublicationFactory, UserFactory, make_blog, make_post

pytestmark = pytest.mark.django_db

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"
HINT_EN = "Set a focus keyphrase so the page can be checked for it."
HINT_ZH = "请设置焦点关键词，以便检查本页。"


@pytest.fixture
def roles(db):
    for name in (LEADERSHIP, MARKETERS, "Editors"):
        Group.objects.get_or_create(name=name)
    sync_role_permissions()


def reader(group, language, username):
    user = UserFactory(username=username, groups=[group])
    profile = UserProfile.get_for_user(user)
    profile.preferred_language = language
    profile.save()
    return user


@pytest.fixture
def campaign_page(home_page):
    """A page without a keyphrase (so its first hint is known), analysed as saved by a
    Chinese-speaking editor, in a campaign."""
    post = make_post(make_blog(home_page), title="Spring sale guide", focus_keyphrase="")
    with translation.override("zh-hans"):
        store_page_analysis(post)
    publication = PublicationFactory(page=post, campaign__slug="spring")
    return post, publication.campaign


def organic_visits(client, page, referrers):
    yesterday = timezone.now() - datetime.timedelta(days=1)
    for i, referrer in enumerate(referrers):
        client.post(
            "/a/pv",
            {"p": page.pk, "r": referrer},
            HTTP_USER_AGENT=FIREFOX,
            REMOTE_ADDR=f"10.9.0.{i}",
        )
    Event.objects.update(received_at=yesterday, occurred_at=yesterday)
    rollups.update_rollups()


def last_week():
    """An explicit period (whatever the dashboard's default period is)."""
    today = timezone.now().date()
    return {"start": (today - datetime.timedelta(days=7)).isoformat(), "end": today.isoformat()}


def dashboard(client, user, campaign):
    client.force_login(user)
    response = client.get(f"/admin/dashboards/campaign/{campaign.pk}/", last_week())
    assert response.status_code == 200
    return response.content.decode()


def test_hints_are_stored_as_codes_not_words(campaign_page):
    post, _campaign = campaign_page
    hints = SeoAnalysis.objects.get(page=post).hints
    assert all(set(h) == {"check", "code", "level", "params"} for h in hints)
    assert {
        "check": "keyphrase_missing",
        "code": "keyphrase_missing.unset",
        "level": "problem",
        "params": {},
    } in hints
    title = next(h for h in hints if h["check"] == "title_length")
    assert title["code"] == "title_length.too_short" and title["params"] == {"n": 17, "max": 60}


def test_a_chinese_editors_page_reads_in_each_readers_language(client, roles, campaign_page):
    _post, campaign = campaign_page
    english = dashboard(client, reader(LEADERSHIP, "en", "lead-en"), campaign)
    assert HINT_EN in english and HINT_ZH not in english
    chinese = dashboard(client, reader(LEADERSHIP, "zh-hans", "lead-zh"), campaign)
    assert HINT_ZH in chinese and HINT_EN not in chinese


def test_an_english_editors_page_reads_in_chinese(client, roles, home_page):
    post = make_post(make_blog(home_page), title="Guide", focus_keyphrase="")
    with translation.override("en"):
        store_page_analysis(post)
    campaign = PublicationFactory(page=post, campaign__slug="guide").campaign
    chinese = dashboard(client, reader(LEADERSHIP, "zh-hans", "lead-zh2"), campaign)
    assert HINT_ZH in chinese and HINT_EN not in chinese


def test_hints_stored_as_words_keep_their_words(client, roles, campaign_page):
    post, campaign = campaign_page
    old = [
        {"code": "title_length", "level": "problem", "message": "标题太短（旧版）"},
        {"code": "slug", "level": "good", "message": "网址很好"},
    ]
    SeoAnalysis.objects.filter(page=post).update(hints=old)
    migration = importlib.import_module("analytics.migrations.0004_seo_hints_as_codes")
    migration.to_codes(apps, None)
    migrated = SeoAnalysis.objects.get(page=post).hints
    assert migrated[0] == {
        "check": "title_length",
        "code": "title_length",
        "level": "problem",
        "params": {},
        "message": "标题太短（旧版）",
    }
    migration.to_codes(apps, None)  # twice changes nothing
    assert SeoAnalysis.objects.get(page=post).hints == migrated
    english = dashboard(client, reader(LEADERSHIP, "en", "lead-old"), campaign)
    assert "标题太短（旧版）" in english and "网址很好" not in english  # good hints are not "top"
    migration.to_messages(apps, None)
    assert SeoAnalysis.objects.get(page=post).hints[0] == old[0]


def test_organic_visits_by_engine_without_a_query_column(client, roles, campaign_page):
    post, campaign = campaign_page
    organic_visits(
        client,
        post,
        [
            "https://www.google.com/",
            "https://www.google.co.uk/",
            "https://www.baidu.com/link?url=abc",
            "https://www.bing.com/",
            "https://news.example.com/",  # not a search engine
        ],
    )
    html = dashboard(client, reader(MARKETERS, "en", "marketer"), campaign)
    section = html[html.index("data-seo-section") :]
    row = section[section.index(f'data-page-id="{post.pk}"') :].split("</tr>")[0]
    for header in ("From Baidu", "From Bing", "From Google"):
        assert header in section
    cells = [c.split("</td>")[0] for c in row.split("<td")[1:]]
    assert cells[4:8] == [">4", ">1", ">1", ">2"]  # total, then Baidu, Bing, Google
    assert 'data-column="queries"' not in section  # nothing fills it: hidden
    assert "Search engines no longer send the words people searched for" in section
    assert "/admin/analytics/connections/" in section  # marketers may connect one
    lead = dashboard(client, reader(LEADERSHIP, "en", "lead-x"), campaign)
    note = lead[lead.index("data-seo-note") :]
    assert "/admin/analytics/connections/" not in note
    assert "An administrator or a marketer can set one up under Settings." in note


def test_imported_queries_fill_the_query_column(client, roles, campaign_page):
    post, campaign = campaign_page
    yesterday = timezone.now().date() - datetime.timedelta(days=1)
    google = SearchConnection.objects.create(name="GSC", kind="google", site="sc-domain:hub")
    baidu = SearchConnection.objects.create(name="Tongji", kind="baidu", site="1")
    ImportedSearchQuery.objects.create(
        connection=google,
        engine="google",
        day=yesterday,
        page_id=post.pk,
        page_url="https://hub/p/",
        query="spring sale",
        clicks=7,
        impressions=120,
        position=3.4,
    )
    ImportedSearchQuery.objects.create(  # the day before: 1 click, 80 impressions at 6.0
        connection=google,
        engine="google",
        day=yesterday - datetime.timedelta(days=1),
        page_id=post.pk,
        page_url="https://hub/p/",
        query="spring sale",
        clicks=1,
        impressions=80,
        position=6.0,
    )
    ImportedSearchQuery.objects.create(
        connection=baidu, engine="baidu", day=yesterday, page_id=0, query="春季促销", clicks=9
    )
    html = dashboard(client, reader(LEADERSHIP, "en", "lead-q"), campaign)
    section = html[html.index("data-seo-section") :]
    assert 'data-column="queries"' in section
    assert "spring sale (8 clicks, 200 impressions, Google) position 4.4" in section
    assert "春季促销 (9 visits, Baidu)" in section[section.index("data-site-words") :]
    assert "Not connected" not in section
    csv = client.get(
        f"/admin/dashboards/campaign/{campaign.pk}/", {**last_week(), "export": "seo"}
    ).content.decode("utf-8-sig")
    assert "Search queries" in csv and "spring sale (8 clicks" in csv and HINT_EN in csv


def test_home_panel_shows_the_hints_in_the_editors_language(client, roles, home_page):
    editor = reader("Editors", "zh-hans", "editor-zh")
    post = make_post(make_blog(home_page), title="Draft", focus_keyphrase="")
    post.owner = editor
    post.save()
    with translation.override("en"):
        store_page_analysis(post)
    assert SeoAnalysis.objects.get(page=post).score < 60
    client.force_login(editor)
    html = client.get("/admin/").content.decode()
    panel = html[html.index('data-home-panel="seo"') :]
    hints = panel[panel.index("data-seo-hints") :].split("</td>")[0]
    assert "没有元描述：请写一段约 155 个字符的描述。" in hints  # the first problem, in Chinese
    assert "No meta description" not in hints
