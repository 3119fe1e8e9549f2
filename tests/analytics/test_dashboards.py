"""Dashboards: permissions (Leadership reads, changes nothing), content, CSV, filters."""

import datetime

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from analytics import rollups
from analytics.events import record_events
from analytics.links import get_or_create_tracked_link
from analytics.models import Event, TrackedLink
from analytics.tokens import message_token
from content.roles import LEADERSHIP, MARKETERS, sync_role_permissions
from tests.factories import UserFactory

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"


@pytest.fixture
def roles(db):
    for name in (LEADERSHIP, MARKETERS, "Editors"):
        Group.objects.get_or_create(name=name)
    sync_role_permissions()


@pytest.fixture
def leader(roles):
    return UserFactory(username="leader", groups=[LEADERSHIP])


@pytest.fixture
def marketer(roles):
    return UserFactory(username="marketer", groups=[MARKETERS])


@pytest.fixture
def data(client, email_publication):
    # Begun yesterday: the deliveries five minutes ago fall in its dates at any hour
    # (just after midnight they are yesterday's).
    campaign = email_publication.campaign
    campaign.start_date -= datetime.timedelta(days=1)
    campaign.save(update_fields=["start_date"])
    link = get_or_create_tracked_link(
        "https://shop.example.com/=cmd", publication=email_publication
    )
    yesterday = timezone.now() - datetime.timedelta(days=1)
    record_events(
        [
            {
                "kind": "delivery",
                "publication_id": email_publication.pk,
                # Within the campaign's own dates, before the clicks.
                "occurred_at": timezone.now() - datetime.timedelta(minutes=5),
                "recipient_key": f"r{i}",
            }
            for i in range(10)
        ]
    )
    for i in range(3):
        token = message_token(email_publication.pk, f"r{i}")
        client.get(f"/t/{link.code}?m={token}", HTTP_USER_AGENT=FIREFOX, REMOTE_ADDR=f"10.1.0.{i}")
    Event.objects.update(received_at=yesterday)
    rollups.update_rollups()
    return email_publication


def test_anonymous_and_editors_are_refused(client, data):
    url = f"/admin/dashboards/campaign/{data.campaign_id}/"
    assert client.get(url).status_code == 302  # to the login page
    editor = UserFactory(username="ed", groups=["Editors"])
    client.force_login(editor)
    assert client.get(url).status_code in (302, 403)
    assert client.get("/admin/dashboards/overview/").status_code in (302, 403)


def test_leadership_sees_dashboards_with_numbers(client, leader, data):
    client.force_login(leader)
    response = client.get(f"/admin/dashboards/campaign/{data.campaign_id}/")
    assert response.status_code == 200
    totals = response.context["totals"]
    assert (totals["deliveries"], totals["clicks"], totals["unique_clickers"]) == (10, 3, 3)
    assert totals["email_ctr"] == 0.3
    # Shown as a percentage, with the rollup's time.
    assert b'data-kpi="email_ctr"' in response.content
    assert "30.0 %" in response.content.decode()
    assert b"data-as-of" in response.content
    assert b'id="chart-data"' in response.content
    assert b"analytics/echarts.min.js" in response.content
    assert client.get("/admin/dashboards/overview/").status_code == 200
    assert client.get("/admin/dashboards/").status_code == 200


def test_leadership_cannot_change_anything(client, leader, data):
    client.force_login(leader)
    assert client.get("/admin/tracked_links/new/").status_code in (302, 403)
    response = client.post(
        "/admin/tracked_links/new/",
        {"label": "x", "original_url": "https://e.example.com/", "channel": "manual"},
    )
    assert response.status_code in (302, 403)
    assert TrackedLink.objects.count() == 1
    link = TrackedLink.objects.get()
    assert client.post(
        f"/admin/tracked_links/edit/{link.pk}/", {"label": "changed"}
    ).status_code in (302, 403)
    assert client.post(f"/admin/tracked_links/delete/{link.pk}/").status_code in (302, 403)
    link.refresh_from_db()
    assert link.label == ""


def test_marketer_creates_tracked_link_by_hand(client, marketer, data):
    client.force_login(marketer)
    response = client.post(
        "/admin/tracked_links/new/",
        {
            "label": "Weibo ad",
            "original_url": "https://shop.example.com/ad?x=1",
            "campaign": data.campaign_id,
            "channel": "weibo",
            "medium": "cpc",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    link = TrackedLink.objects.get(label="Weibo ad")
    assert "utm_source=weibo" in link.destination and "utm_medium=cpc" in link.destination
    assert link.created_by == marketer
    bad = client.post(
        "/admin/tracked_links/new/",
        {"label": "bad", "original_url": "javascript:alert(1)", "channel": "x"},
    )
    assert bad.status_code == 200
    assert not TrackedLink.objects.filter(label="bad").exists()


def test_csv_export_of_every_table(client, leader, data):
    client.force_login(leader)
    base = f"/admin/dashboards/campaign/{data.campaign_id}/"
    for table in ("by_channel", "over_time", "top_publications", "top_links", "seo", "schedule"):
        response = client.get(base, {"export": table})
        assert response.status_code == 200, table
        assert response["Content-Type"].startswith("text/csv")
    links_csv = client.get(base, {"export": "top_links"}).content.decode("utf-8-sig")
    assert (
        "https://shop.example.com/=cmd" in links_csv
    )  # a formula-looking cell is quoted only at its start
    assert client.get(base, {"export": "nope"}).status_code == 404
    for table in ("campaigns", "channels", "trend", "best", "worst"):
        assert client.get("/admin/dashboards/overview/", {"export": table}).status_code == 200


def test_filters_and_bad_input(client, leader, data):
    client.force_login(leader)
    base = f"/admin/dashboards/campaign/{data.campaign_id}/"
    only_blog = client.get(base, {"channel": "blog"})
    assert only_blog.context["totals"]["clicks"] == 0
    old = client.get(base, {"start": "2020-01-01", "end": "2020-01-31"})
    assert old.context["totals"]["clicks"] == 0
    for params in (
        {"start": "not-a-date"},
        {"start": "2026-02-01", "end": "2026-01-01"},
        {"channel": "<script>"},
    ):
        response = client.get(base, params)
        assert response.status_code == 200
        assert response.context["form"].errors
    # The rejected value is shown escaped, never as markup.
    assert b"&lt;script&gt;" in response.content


def test_csv_cells_that_look_like_formulas_are_neutralised():
    from analytics.admin_views import csv_response

    response = csv_response("x", [("a", "A")], [{"a": "=HYPERLINK(1)"}, {"a": "春季"}])
    body = response.content.decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in body and "春季" in body


def test_campaign_dashboard_opens_on_the_campaigns_own_dates(client, leader, data):
    client.force_login(leader)
    campaign = data.campaign
    today = timezone.localdate()
    url = f"/admin/dashboards/campaign/{campaign.pk}/"
    # Running: from its start to today (not the last 30 days).
    campaign.start_date = today - datetime.timedelta(days=3)
    campaign.end_date = today + datetime.timedelta(days=20)
    campaign.save()
    flt = client.get(url).context["flt"]
    assert (flt.start, flt.end) == (campaign.start_date, today)
    # Over: its start to its end.
    campaign.start_date = today - datetime.timedelta(days=90)
    campaign.end_date = today - datetime.timedelta(days=60)
    campaign.save()
    response = client.get(url)
    assert (response.context["flt"].start, response.context["flt"].end) == (
        campaign.start_date,
        campaign.end_date,
    )
    assert response.context["form"]["start"].value() == campaign.start_date


def test_best_and_worst_rank_the_first_campaign(client, leader, data):
    client.force_login(leader)
    tables = client.get("/admin/dashboards/overview/").context["tables"]
    for name in ("best", "worst"):
        (row,) = tables[name]["rows"]
        assert row["campaign_id"] == data.campaign_id and row["rank_rate"] == 0.3


def test_each_dashboard_says_as_of_when_in_the_readers_zone(client, leader, data):
    from wagtail.users.models import UserProfile

    from analytics.models import RollupState

    profile = UserProfile.get_for_user(leader)
    profile.current_time_zone = "Asia/Shanghai"
    profile.save()
    RollupState.objects.filter(name="events").update(
        updated_at=datetime.datetime(2026, 11, 2, 23, 30, tzinfo=datetime.UTC)
    )
    client.force_login(leader)
    for url in (f"/admin/dashboards/campaign/{data.campaign_id}/", "/admin/dashboards/overview/"):
        html = client.get(url).content.decode()
        assert "Figures as of Nov. 3, 2026, 7:30 a.m. (Asia/Shanghai)" in html, url
    assert "Figures as of" in client.get("/admin/").content.decode()
