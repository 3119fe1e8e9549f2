"""The recurrence builder: choices to RRULE and back, the form storing the rule and the
first occurrence in the publication's zone, stored rules loading into the builder, and
the permission-checked preview of the next five occurrences."""

import datetime
import re

import pytest
from django.urls import reverse

from campaigns import recurrence
from campaigns.models import Publication, TeamSettings
from tests.factories import ChannelAccountFactory, PublicationFactory, UserFactory

pytestmark = pytest.mark.django_db
UTC = datetime.UTC


def url(name, *args):
    return reverse(f"campaigns_admin:{name}", args=args)


@pytest.fixture
def marketer(db):
    team = TeamSettings.load()
    team.time_zone = "Asia/Shanghai"
    team.save()
    return UserFactory(username="mia", groups=["Marketers"])


@pytest.fixture
def hub(site):
    return ChannelAccountFactory(kind="blog/wagtail_site", name="Hub", rate_limit_per_minute=0)


@pytest.mark.parametrize(
    "choice, rule",
    [
        ({"frequency": "none"}, ""),
        ({"frequency": "daily"}, "FREQ=DAILY"),
        ({"frequency": "daily", "interval": 2, "count": 5}, "FREQ=DAILY;INTERVAL=2;COUNT=5"),
        ({"frequency": "weekly", "weekdays": ["TH", "MO"]}, "FREQ=WEEKLY;BYDAY=MO,TH"),
        (
            {"frequency": "monthly", "month_day": 15, "until": datetime.date(2031, 6, 30)},
            "FREQ=MONTHLY;BYMONTHDAY=15;UNTIL=20310630T235959",
        ),
    ],
)
def test_builder_choices_make_the_rule_and_load_back(choice, rule):
    values = dict(choice)
    frequency = values.pop("frequency")

    assert recurrence.build_rule(frequency, **values) == rule
    loaded = recurrence.rule_to_builder(rule)
    assert loaded["frequency"] == frequency
    if rule:
        assert recurrence.build_rule(**loaded) == rule


@pytest.mark.parametrize(
    "stored",
    ["FREQ=MONTHLY;BYDAY=1MO", "FREQ=YEARLY", "FREQ=WEEKLY;INTERVAL=1", "FREQ=DAILY;BYHOUR=9,18"],
)
def test_rules_the_builder_cannot_show_load_as_custom_unchanged(stored):
    assert recurrence.rule_to_builder(stored) == {"frequency": "custom", "custom": stored}


def test_weekly_rule_from_the_form_starts_on_the_next_chosen_day_in_the_zone(
    client, marketer, campaign, post, hub
):
    client.force_login(marketer)
    data = {
        "page": post.pk, "channel_account": hub.pk, "timezone": "Asia/Shanghai",
        # Tuesday 31 Dec 2030, 08:30 in Shanghai; the series runs on Mondays.
        "publish_at": "2030-12-31 08:30", "schedule": "on",
        "repeat": "weekly", "interval": "1", "weekdays": ["MO"], "ends": "count", "count": "3",
    }  # fmt: skip

    response = client.post(url("publication_create", campaign.pk), data)

    assert response.status_code == 302, response.content.decode()[:3000]
    pub = Publication.objects.get()
    assert pub.recurrence == "FREQ=WEEKLY;BYDAY=MO;COUNT=3"
    # Monday 6 Jan 2031, 08:30 Shanghai = 00:30 UTC
    assert pub.publish_at == datetime.datetime(2031, 1, 6, 0, 30, tzinfo=UTC)
    assert recurrence.upcoming_occurrences(pub.recurrence, pub.publish_at, pub.timezone) == [
        datetime.datetime(2031, 1, 6, 0, 30, tzinfo=UTC),
        datetime.datetime(2031, 1, 13, 0, 30, tzinfo=UTC),
        datetime.datetime(2031, 1, 20, 0, 30, tzinfo=UTC),
    ]
    # The edit page shows the builder with the stored choice and the occurrences there.
    page = client.get(url("publication_edit", pub.pk)).content.decode()
    assert '<option value="weekly" selected>' in page
    assert re.search(r'name="weekdays" value="MO"[^>]*checked', page)
    assert not re.search(r'name="weekdays" value="TU"[^>]*checked', page)
    assert "Mon 2031-01-06 08:30" in page
    assert "Mon 2031-01-20 08:30" in page


def test_a_stored_rule_the_builder_cannot_show_is_kept_as_custom(
    client, marketer, campaign, post, hub
):
    pub = PublicationFactory(
        campaign=campaign, page=post, channel_account=hub, timezone="Asia/Shanghai",
        recurrence="FREQ=MONTHLY;BYDAY=1MO",
        publish_at=datetime.datetime(2031, 1, 6, 0, 30, tzinfo=UTC),
    )  # fmt: skip
    client.force_login(marketer)

    page = client.get(url("publication_edit", pub.pk)).content.decode()

    assert '<option value="custom" selected>' in page
    assert 'value="FREQ=MONTHLY;BYDAY=1MO"' in page
    assert "Mon 2031-02-03 08:30" in page  # first Monday of February, in Shanghai


@pytest.mark.parametrize(
    "fields, error",
    [
        ({"repeat": "custom", "custom_rule": "FREQ=SECONDLY"}, "more frequent than hourly"),
        ({"repeat": "custom", "custom_rule": ""}, "Type the rule"),
        ({"repeat": "daily", "ends": "count"}, "How many times?"),
        ({"repeat": "weekly", "ends": "until", "until": "soon"}, "Enter a date like 2026-12-31"),
    ],
)
def test_bad_recurrence_choices_are_refused_with_a_reason(
    client, marketer, campaign, post, hub, fields, error
):
    client.force_login(marketer)
    data = {
        "page": post.pk, "channel_account": hub.pk, "timezone": "Asia/Shanghai",
        "publish_at": "2030-12-31 08:30", "schedule": "on", **fields,
    }  # fmt: skip

    response = client.post(url("publication_create", campaign.pk), data)

    assert response.status_code == 200
    assert error in response.content.decode()
    assert not Publication.objects.exists()


def test_preview_lists_the_next_five_occurrences_in_the_chosen_zone(client, marketer):
    client.force_login(marketer)

    data = client.get(
        url("recurrence_preview"),
        {
            "timezone": "Asia/Shanghai", "publish_at": "2030/12/31 08:30",
            "repeat": "daily", "interval": "2", "ends": "never",
        },
    ).json()  # fmt: skip

    assert data["errors"] == []
    assert data["rule"] == "FREQ=DAILY;INTERVAL=2"
    assert data["occurrences"] == [
        "Tue 2030-12-31 08:30",
        "Thu 2031-01-02 08:30",
        "Sat 2031-01-04 08:30",
        "Mon 2031-01-06 08:30",
        "Wed 2031-01-08 08:30",
    ]

    # The same choice in New York: the same wall clock there.
    data = client.get(
        url("recurrence_preview"),
        {"timezone": "America/New_York", "publish_at": "2030-12-31 08:30", "repeat": "daily"},
    ).json()
    assert data["occurrences"][0] == "Tue 2030-12-31 08:30"
    assert len(data["occurrences"]) == 5


def test_preview_reports_errors_in_words(client, marketer):
    client.force_login(marketer)

    data = client.get(
        url("recurrence_preview"),
        {"timezone": "Asia/Shanghai", "repeat": "custom", "custom_rule": "FREQ=NEVER"},
    ).json()

    assert data["occurrences"] == []
    assert any("not valid" in e for e in data["errors"]), data


def test_preview_needs_a_publication_permission(client):
    leader = UserFactory(username="lee", groups=["Leadership"])
    client.force_login(leader)

    response = client.get(url("recurrence_preview"), {"timezone": "UTC", "repeat": "daily"})

    # Wagtail answers a refused admin view with a redirect to the dashboard.
    assert response.status_code in (302, 403)
    assert response.get("Content-Type") != "application/json"


def test_preview_names_the_weekdays_in_the_users_language(client, marketer):
    from wagtail.users.models import UserProfile

    profile = UserProfile.get_for_user(marketer)
    profile.preferred_language = "zh-hans"
    profile.save()
    client.force_login(marketer)

    data = client.get(
        url("recurrence_preview"),
        {"timezone": "Asia/Shanghai", "publish_at": "2030年12月31日 08:30", "repeat": "daily"},
    ).json()

    assert data["occurrences"][0] == "星期二 2030-12-31 08:30"
