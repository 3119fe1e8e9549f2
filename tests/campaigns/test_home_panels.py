"""A home page per role (issue 16, point 8), through HTTP: each role sees the panels it
acts on, with their items, and not the other roles' panels; the marketer's Retry works
from the home page; the page's queries do not grow with its rows."""

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from analytics.models import CampaignDailyRollup, SeoAnalysis
from campaigns.models import Campaign, Publication
from tests.factories import (
    CampaignFactory,
    ChannelAccountFactory,
    PublicationFactory,
    UserFactory,
    make_blog,
    make_post,
)

pytestmark = pytest.mark.django_db
S = Publication.Status
HOME = "/admin/"

MARKETER_PANELS = ('id="campaigns-upcoming', 'id="campaigns-problems')
APPROVAL_PANEL = 'id="campaigns-awaiting-approval'
EDITOR_PANELS = ('id="my-drafts', 'id="seo-to-fix')
LEADERSHIP_PANEL = 'id="running-campaigns'


@pytest.fixture
def blog(home_page):
    return make_blog(home_page)


@pytest.fixture
def account(site):
    return ChannelAccountFactory(kind="blog/wagtail_site", name="Hub blog")


def pub_at(blog, account, title, when, status=S.SCHEDULED, **fields):
    page = make_post(blog, title=title, slug=None)
    pub = PublicationFactory(page=page, channel_account=account, campaign__name=f"C {title}")
    Publication.objects.filter(pk=pub.pk).update(
        status=status, publish_at=when, due_at=when if status == S.SCHEDULED else None, **fields
    )
    return pub


def home_as(client, user) -> str:
    client.force_login(user)
    response = client.get(HOME)
    assert response.status_code == 200
    return response.content.decode()


def section(html: str, panel_id: str) -> str:
    """The HTML of one home panel (Wagtail's panel: <section id="<id>-section">)."""
    return html.split(f'id="{panel_id}-section"')[1].split("</section>")[0]


def test_marketer_sees_the_next_days_failures_and_waiting_campaigns(client, blog, account):
    now = timezone.now()
    soon = pub_at(blog, account, "Soon post", now + datetime.timedelta(days=2))
    pub_at(blog, account, "Far post", now + datetime.timedelta(days=10))
    broken = pub_at(
        blog, account, "Broken post", now - datetime.timedelta(hours=1), S.FAILED,
        last_error="401 bad credentials",
    )  # fmt: skip
    CampaignFactory(name="Autumn", status=Campaign.Status.AWAITING_APPROVAL)

    html = home_as(client, UserFactory(username="mia", groups=["Marketers"]))

    for panel in (*MARKETER_PANELS, APPROVAL_PANEL):
        assert panel in html
    assert "Going out in the next 7 days" in html
    assert "Soon post" in html and "Far post" not in html
    assert reverse("campaigns_admin:publication_edit", args=[soon.pk]) in html
    assert "Broken post" in html and "401 bad credentials" in html
    retry = reverse("campaigns_admin:publication_action", args=[broken.pk, "retry"])
    assert f'action="{retry}"' in html
    assert "Campaigns waiting for approval" in html and "Autumn" in html
    assert "Campaigns waiting for your approval" not in html
    for panel in EDITOR_PANELS:
        assert panel not in html


def test_retry_from_the_home_page_comes_back_home(client, blog, account):
    broken = pub_at(
        blog, account, "Broken post", timezone.now() - datetime.timedelta(hours=1), S.FAILED
    )
    client.force_login(UserFactory(username="mia", groups=["Marketers"]))
    response = client.post(
        reverse("campaigns_admin:publication_action", args=[broken.pk, "retry"]), {"next": HOME}
    )
    assert response.status_code == 302 and response["Location"] == HOME
    broken.refresh_from_db()
    assert broken.status == S.SCHEDULED
    assert "Broken post" not in client.get(HOME).content.decode()


def test_nothing_scheduled_says_so_and_points_to_the_calendar(client, site):
    html = home_as(client, UserFactory(username="mia", groups=["Marketers"]))
    assert "Nothing is scheduled to go out in the coming days." in html
    assert reverse("campaigns_admin:calendar") in html


def test_approver_sees_what_waits_for_them(client):
    approver = UserFactory(username="ann")
    for app_label, codename in [
        ("wagtailadmin", "access_admin"),
        ("campaigns", "approve_campaign"),
        ("campaigns", "view_campaign"),
    ]:
        approver.user_permissions.add(
            Permission.objects.get(codename=codename, content_type__app_label=app_label)
        )
    waiting = CampaignFactory(name="Autumn", status=Campaign.Status.AWAITING_APPROVAL)
    CampaignFactory(name="Drafty", status=Campaign.Status.DRAFT)

    html = home_as(client, approver)

    assert "Campaigns waiting for your approval" in html
    assert "Autumn" in html and "Drafty" not in html
    assert reverse("campaigns_admin:detail", args=[waiting.pk]) in html
    for panel in (*MARKETER_PANELS, *EDITOR_PANELS, LEADERSHIP_PANEL):
        assert panel not in html


def test_leadership_sees_running_campaigns_with_their_figures(client, blog, account):
    running = CampaignFactory(name="Spring push", status=Campaign.Status.RUNNING)
    CampaignFactory(name="Old one", status=Campaign.Status.FINISHED)
    CampaignDailyRollup.objects.create(
        day=timezone.now().date(), campaign_id=running.pk, channel="email",
        deliveries=200, unique_clickers=14, pageviews=0,
    )  # fmt: skip
    pub_at(blog, account, "Soon post", timezone.now() + datetime.timedelta(days=1))

    html = home_as(client, UserFactory(username="lee", groups=["Leadership"]))

    assert LEADERSHIP_PANEL in html and "Spring push" in html and "Old one" not in html
    # Delivered, clickers, email CTR (docs/metrics.md), and no web click rate to measure.
    assert "<td>200</td>" in html and "<td>14</td>" in html and "<td>7.0 %</td>" in html
    assert "<td>—</td>" in html
    assert reverse("analytics_campaign_dashboard", args=[running.pk]) in html
    assert reverse("analytics_overview") in html
    for panel in (*MARKETER_PANELS, APPROVAL_PANEL, *EDITOR_PANELS):
        assert panel not in html
    assert "Soon post" not in html


def test_editor_sees_their_drafts_and_the_scores_to_fix(client, blog):
    editor = UserFactory(username="ed", groups=["Editors"])
    draft = make_post(blog, title="Half written", slug="half", publish=False)
    weak = make_post(blog, title="Weak SEO", slug="weak")
    good = make_post(blog, title="Strong SEO", slug="strong")
    theirs = make_post(blog, title="Someone else's", slug="else", publish=False)
    for page in (draft, weak, good):
        page.owner = editor
        page.save(update_fields=["owner"])
    for page, score in ((draft, 72), (weak, 35), (good, 90), (theirs, 10)):
        SeoAnalysis.objects.create(page=page, language="en", score=score)

    html = home_as(client, editor)

    for panel in EDITOR_PANELS:
        assert panel in html
    drafts = section(html, "my-drafts")
    assert "Half written" in drafts and "72" in drafts and "Weak SEO" not in drafts
    to_fix = section(html, "seo-to-fix")
    assert "Weak SEO" in to_fix and "35 / 100" in to_fix
    assert "Strong SEO" not in to_fix and "Someone else" not in html
    for panel in (*MARKETER_PANELS, APPROVAL_PANEL, LEADERSHIP_PANEL):
        assert panel not in html


def test_marketer_home_queries_do_not_grow_with_rows(client, blog, account):
    client.force_login(UserFactory(username="mia", groups=["Marketers"]))
    now = timezone.now()

    def add_rows(n, tag):
        for i in range(n):
            pub_at(blog, account, f"Up {tag}{i}", now + datetime.timedelta(days=1, minutes=i))
            pub_at(blog, account, f"Bad {tag}{i}", now - datetime.timedelta(hours=1), S.FAILED)
            CampaignFactory(status=Campaign.Status.AWAITING_APPROVAL)

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(HOME).status_code == 200
        return len(ctx.captured_queries)

    add_rows(1, "a")
    client.get(HOME)  # warm the per-user caches
    few = queries()
    add_rows(6, "b")
    assert queries() == few


def test_moderator_sees_the_pages_waiting_for_their_review(client, blog):
    editor = UserFactory(username="ed", groups=["Editors"])
    moderator = UserFactory(username="mo", groups=["Moderators"])
    page = make_post(blog, title="Needs a look", slug="look", publish=False)
    page.get_workflow().start(page, editor)

    html = home_as(client, moderator)

    assert "Needs a look" in section(html, "awaiting-review")
    for panel in (*MARKETER_PANELS, APPROVAL_PANEL, LEADERSHIP_PANEL):
        assert panel not in html
