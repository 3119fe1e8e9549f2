"""Rollups: equal to raw counts, idempotent, late events folded in."""

import datetime

import pytest
import time_machine
from django.db.models import Sum

from analytics import rollups
from analytics.events import record_events
from analytics.links import tracked_url
from analytics.models import (
    CampaignDailyRollup,
    DailyRollup,
    Event,
    HourlyRollup,
    SearchQueryDaily,
    TrackedLink,
)
from analytics.tokens import message_token

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"
T0 = datetime.datetime(2026, 11, 2, 9, 15, tzinfo=datetime.UTC)


def totals(model, **filters):
    fields = [
        "sends",
        "deliveries",
        "opens",
        "unique_opens",
        "clicks",
        "unique_clicks",
        "bot_clicks",
        "pageviews",
        "organic_visits",
    ]
    return model.objects.filter(**filters).aggregate(**{f: Sum(f) for f in fields})


@pytest.fixture
def traffic(client, email_publication, post):
    tracked_url("https://a.example.com/", publication=email_publication)
    tracked_url("https://b.example.com/", publication=email_publication)
    link_a, link_b = TrackedLink.objects.order_by("pk")
    with time_machine.travel(T0 + datetime.timedelta(minutes=1), tick=False):
        record_events(
            [
                {
                    "kind": kind,
                    "publication_id": email_publication.pk,
                    "occurred_at": T0,
                    "recipient_key": f"r{i}",
                }
                for kind in ("send", "delivery")
                for i in range(4)
            ]
        )
    with time_machine.travel(T0 + datetime.timedelta(minutes=10), tick=False):
        for i in range(3):
            token = message_token(email_publication.pk, f"r{i}")
            client.get(f"/t/o/{token}", HTTP_USER_AGENT=FIREFOX)
            client.get(
                f"/t/{link_a.code}?m={token}", HTTP_USER_AGENT=FIREFOX, REMOTE_ADDR=f"10.0.0.{i}"
            )
        client.get(f"/t/{link_a.code}", HTTP_USER_AGENT=FIREFOX, REMOTE_ADDR="10.0.0.1")
        client.get(f"/t/{link_b.code}", HTTP_USER_AGENT="curl/8", REMOTE_ADDR="10.0.0.9")
        client.post(
            "/a/pv",
            {"p": post.pk, "r": "https://www.google.com/search?q=spring"},
            HTTP_USER_AGENT=FIREFOX,
        )
    with time_machine.travel(T0 + datetime.timedelta(hours=2), tick=False):
        client.get(f"/t/{link_b.code}", HTTP_USER_AGENT=FIREFOX, REMOTE_ADDR="10.0.0.1")
    return email_publication, link_a, link_b


def run_rollups():
    return rollups.update_rollups(now=T0 + datetime.timedelta(days=1))


def test_rollups_match_raw_counts_and_are_idempotent(traffic):
    publication, link_a, link_b = traffic
    assert run_rollups() == Event.objects.count()
    first = totals(DailyRollup)
    assert first == {
        "sends": 4,
        "deliveries": 4,
        "opens": 3,
        "unique_opens": 3,
        "clicks": 5,
        "unique_clicks": 5,
        "bot_clicks": 1,
        "pageviews": 1,
        "organic_visits": 1,
    }
    assert totals(HourlyRollup) == first
    # The per-campaign table holds the same totals, one row per day, campaign, channel.
    assert totals(CampaignDailyRollup) == first
    assert CampaignDailyRollup.objects.filter(campaign_id=publication.campaign_id).count() == len(
        set(
            DailyRollup.objects.filter(campaign_id=publication.campaign_id).values_list(
                "day", "channel"
            )
        )
    )
    # Raw counts per link agree.
    for link in (link_a, link_b):
        raw = Event.objects.filter(kind="click", link_id=link.pk, is_bot=False).count()
        assert DailyRollup.objects.filter(link_id=link.pk).aggregate(s=Sum("clicks"))["s"] == raw
    # Two hours on the day, one day.
    assert HourlyRollup.objects.filter(link_id=link_b.pk).values("hour").distinct().count() == 2
    assert (
        DailyRollup.objects.filter(campaign_id=publication.campaign_id)
        .values("day")
        .distinct()
        .count()
        == 1
    )
    assert SearchQueryDaily.objects.get().query == "spring"
    # Running again changes nothing.
    assert run_rollups() == 0
    assert totals(DailyRollup) == first
    assert totals(HourlyRollup) == first
    assert totals(CampaignDailyRollup) == first


def test_late_events_are_folded_into_their_old_hour(traffic):
    publication, link_a, _ = traffic
    run_rollups()
    before = HourlyRollup.objects.get(
        hour=T0.replace(minute=0), link_id=0, publication_id=publication.pk
    )
    # A delivery report for 09:15 that arrives a day late.
    with time_machine.travel(T0 + datetime.timedelta(days=1, hours=1), tick=False):
        record_events(
            [
                {
                    "kind": "bounce",
                    "publication_id": publication.pk,
                    "occurred_at": T0,
                    "recipient_key": "r3",
                }
            ]
        )
    with time_machine.travel(T0 + datetime.timedelta(days=2), tick=False):
        assert rollups.update_rollups() == 1
    after = HourlyRollup.objects.get(pk=before.pk)
    assert (after.bounces, after.sends) == (before.bounces + 1, before.sends)
    assert totals(DailyRollup)["sends"] == 4


def test_recent_events_wait_for_the_lag(traffic):
    # At the moment of the last click, it is too fresh to count (scanner re-flagging
    # may still change it).
    assert rollups.update_rollups(now=T0 + datetime.timedelta(hours=2)) < Event.objects.count()
    assert run_rollups() > 0
    assert totals(DailyRollup)["clicks"] == 5


def test_rebuild_gives_the_same_numbers(traffic):
    run_rollups()
    first = totals(DailyRollup)
    with time_machine.travel(T0 + datetime.timedelta(days=1), tick=False):
        rollups.rebuild_rollups()
    assert totals(DailyRollup) == first
