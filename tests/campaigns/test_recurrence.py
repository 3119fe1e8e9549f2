"""Recurring publications: RRULE in the publication's zone, across DST changes."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError

from campaigns import recurrence, services
from campaigns.models import Publication
from tests.factories import PublicationFactory

UTC = datetime.UTC
BERLIN = ZoneInfo("Europe/Berlin")


def utc(*args):
    return datetime.datetime(*args, tzinfo=UTC)


def test_weekly_berlin_keeps_local_time_across_spring_dst():
    # Sunday 2026-03-22 09:00 CET (UTC+1) = 08:00 UTC; DST starts 2026-03-29.
    start = datetime.datetime(2026, 3, 22, 9, 0, tzinfo=BERLIN)
    first = recurrence.first_occurrence("FREQ=WEEKLY;BYDAY=SU", start, "Europe/Berlin")
    assert first == utc(2026, 3, 22, 8, 0)
    second = recurrence.next_occurrence("FREQ=WEEKLY;BYDAY=SU", first, first, "Europe/Berlin")
    assert second == utc(2026, 3, 29, 7, 0)  # 09:00 CEST
    assert second.astimezone(BERLIN).hour == 9


def test_weekly_berlin_keeps_local_time_across_autumn_dst():
    start = datetime.datetime(2026, 10, 18, 9, 0, tzinfo=BERLIN)  # CEST
    times = recurrence.upcoming_occurrences("FREQ=WEEKLY;BYDAY=SU", start, "Europe/Berlin", 3)
    assert times == [utc(2026, 10, 18, 7, 0), utc(2026, 10, 25, 8, 0), utc(2026, 11, 1, 8, 0)]
    assert {t.astimezone(BERLIN).hour for t in times} == {9}


def test_nonexistent_local_time_moves_forward_by_the_gap():
    # 02:30 does not exist in Berlin on 2026-03-29.
    start = datetime.datetime(2026, 3, 28, 2, 30, tzinfo=BERLIN)
    times = recurrence.upcoming_occurrences("FREQ=DAILY", start, "Europe/Berlin", 2)
    assert times[1] == utc(2026, 3, 29, 1, 30)  # 03:30 CEST
    assert times[1].astimezone(BERLIN).strftime("%H:%M") == "03:30"


def test_monday_0900_shanghai_is_0100_utc_whatever_europe_does():
    start = datetime.datetime(2026, 3, 20, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Friday
    times = recurrence.upcoming_occurrences(
        "RRULE:FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0;BYSECOND=0", start, "Asia/Shanghai", 3
    )
    assert times == [utc(2026, 3, 23, 1), utc(2026, 3, 30, 1), utc(2026, 4, 6, 1)]


@pytest.mark.parametrize(
    "rule, message",
    [
        ("FREQ=MINUTELY", "more frequent than hourly"),
        ("BYDAY=MO", "needs a FREQ"),
        ("FREQ=WEEKLY;BYDAY=XX", "not valid"),
        ("DTSTART:20260101T000000\nRRULE:FREQ=DAILY", "single RRULE"),
    ],
)
def test_bad_rules_are_refused_with_a_message(rule, message):
    with pytest.raises(ValidationError, match=message):
        recurrence.first_occurrence(rule, utc(2026, 1, 1), "UTC")


def test_unknown_time_zone_is_refused():
    with pytest.raises(ValidationError, match="not a known time zone"):
        recurrence.get_zone("Mars/Olympus")


@pytest.mark.django_db
def test_recurring_series_fires_at_local_time_across_dst(
    campaign, post, fake_account, fake_channel
):
    """End to end: each occurrence publishes, and the next is scheduled at 09:00 Berlin
    local time, before and after the change to summer time."""
    pub = PublicationFactory(
        campaign=campaign, page=post, channel_account=fake_account,
        timezone="Europe/Berlin", recurrence="FREQ=WEEKLY;BYDAY=SU;COUNT=3",
    )  # fmt: skip
    with time_machine.travel(utc(2026, 3, 20, 12), tick=False):
        services.schedule_publication(pub, datetime.datetime(2026, 3, 22, 9, tzinfo=BERLIN))
    fired = []
    for moment in (utc(2026, 3, 22, 8, 0, 1), utc(2026, 3, 29, 7, 0, 1), utc(2026, 4, 5, 7, 0, 1)):
        with time_machine.travel(moment, tick=False):
            # Nothing is due a minute early.
            early = moment - datetime.timedelta(minutes=1)
            assert services.claim_due_publications(now=early, enqueue=lambda ids: None) == []
            ids = services.claim_due_publications(enqueue=lambda ids: None)
            assert len(ids) == 1
            assert services.publish_publication(ids[0]) == "published"
            fired.append(Publication.objects.get(pk=ids[0]).publish_at)
    assert [f.astimezone(BERLIN).strftime("%a %H:%M") for f in fired] == ["Sun 09:00"] * 3
    assert fired == [utc(2026, 3, 22, 8), utc(2026, 3, 29, 7), utc(2026, 4, 5, 7)]
    # COUNT=3: the series ends; every occurrence was its own row with its own key.
    series = Publication.objects.filter(series=pub.pk)
    assert series.count() == 3
    assert len({p.idempotency_key for p in series}) == 3
    assert not series.exclude(status=Publication.Status.PUBLISHED).exists()
