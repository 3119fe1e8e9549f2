"""The segment builder: its rows evaluated against the database (AND/OR, every kind of
condition, stored segments from before the builder), the live count endpoint and the
form, which saves without JavaScript."""

import datetime
import itertools

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.models import Event
from campaigns.audiences import services
from campaigns.audiences.models import Segment, Subscriber, normalise_tags
from tests.factories import UserFactory

from .factories import MailingListFactory

pytestmark = pytest.mark.django_db
NOW = timezone.now()
_uid = itertools.count()


@pytest.fixture
def world(db):
    news = MailingListFactory(slug="news", name="News")
    vip = MailingListFactory(slug="vip", name="VIP")

    def person(email, lists=(news,), **fields):
        tags = fields.pop("tags", "")
        sub = services.subscribe(email, lists[0], method="api", consent_basis="t").subscriber
        for extra in lists[1:]:
            services.subscribe(email, extra, method="api", consent_basis="t")
        Subscriber.objects.filter(pk=sub.pk).update(**fields, tags=normalise_tags(tags))
        return sub

    people = {
        "wang": person(
            "王芳@example.com",
            lists=(news, vip),
            language="zh-hans",
            timezone="Asia/Shanghai",
            tags="vip",
            attributes={"city": "Shanghai", "age": 42},
        ),
        "ann": person("ann@example.org", attributes={"city": "Beijing"}, tags="trial"),
        "bob": person("bob@example.org", tags="vip"),
        "gone": person("gone@example.org", tags="vip"),
    }
    services.suppress_address("gone@example.org", "hard_bounce")
    engage(people["wang"], "open", days_ago=3)
    engage(people["ann"], "click", days_ago=40)
    return {"news": news, "vip": vip, **people}


def engage(subscriber, kind, days_ago):
    at = NOW - datetime.timedelta(days=days_ago)
    Event.objects.create(
        uid=f"t{next(_uid)}",
        kind=kind,
        occurred_at=at,
        received_at=at,
        publication_id=7,
        message_key=f"7:{services.recipient_key(subscriber.pk)}",
    )


def members(world, rules, match="all", **legacy):
    segment = Segment.objects.create(
        name="s", mailing_list=world["news"], filters={"match": match, "rules": rules, **legacy}
    )
    found = {s.email.split("@")[0] for s in services.segment_audience(segment, now=NOW)}
    assert services.audience_count(segment=segment) == len(found)
    return found


def test_and_or_of_tag_and_language(world):
    rules = [
        {"field": "tag", "op": "is", "value": "VIP"},
        {"field": "language", "op": "is", "value": "zh-hans"},
    ]
    assert members(world, rules, "all") == {"王芳"}
    # Suppressed "gone" has the tag but is never in an audience.
    assert members(world, rules, "any") == {"王芳", "bob"}
    assert members(world, [{"field": "tag", "op": "is_not", "value": "vip"}]) == {"ann"}


def test_list_membership_time_zone_and_language_not(world):
    vip = world["vip"].pk
    assert members(world, [{"field": "list", "op": "is", "value": vip}]) == {"王芳"}
    assert members(world, [{"field": "list", "op": "is_not", "value": vip}]) == {"ann", "bob"}
    zone = [{"field": "timezone", "op": "is", "value": "Asia/Shanghai"}]
    assert members(world, zone) == {"王芳"}
    assert members(world, [{"field": "language", "op": "is_not", "value": "en"}]) == {"王芳"}


def test_attribute_equals_matches_typed_values_and_contains_ignores_case(world):
    assert members(world, [{"field": "attribute", "op": "equals", "key": "age", "value": "42"}])
    assert members(
        world, [{"field": "attribute", "op": "equals", "key": "city", "value": "Beijing"}]
    ) == {"ann"}
    assert members(
        world, [{"field": "attribute", "op": "contains", "key": "city", "value": "shang"}]
    ) == {"王芳"}


def test_engagement_reads_opens_and_clicks_by_recipient(world):
    def rule(op, days=None):
        return [{"field": "engagement", "op": op, "days": days}]

    assert members(world, rule("opened", 7)) == {"王芳"}
    assert members(world, rule("opened", 2)) == set()
    assert members(world, rule("clicked", 30)) == set()
    assert members(world, rule("clicked", 60)) == {"ann"}
    assert members(world, rule("engaged", 60)) == {"王芳", "ann"}
    assert members(world, rule("never")) == {"bob"}


def test_segments_saved_before_the_builder_keep_their_meaning(world):
    old = Segment.objects.create(
        name="old", mailing_list=world["news"], filters={"tags_all": ["vip"]}
    )
    assert {s.email for s in services.segment_audience(old)} == {
        "王芳@example.com",
        "bob@example.org",
    }
    # Old keys and new rows together: ANDed.
    rows = [{"field": "language", "op": "is", "value": "en"}]
    assert members(world, rows, "any", tags_all=["vip"]) == {"bob"}


@pytest.mark.parametrize(
    "rule, message",
    [
        ({"field": "list", "op": "is", "value": "99999"}, "Condition 1: choose a mailing list."),
        ({"field": "attribute", "op": "equals", "key": "a__b", "value": "x"}, "attribute name"),
        ({"field": "engagement", "op": "opened", "days": "0"}, "number of days"),
        ({"field": "timezone", "op": "is", "value": "Mars/Olympus"}, "time zone"),
        ({"field": "tag", "op": "equals", "value": "x"}, "choose how to compare"),
    ],
)
def test_bad_rows_are_refused_with_their_row_number(world, rule, message):
    with pytest.raises(services.AudienceError, match=message):
        services.audience_count(mailing_list=world["news"], filters={"rules": [rule]})


def test_audience_count_of_a_list_leaves_out_the_suppressed(world):
    assert services.audience_count(mailing_list=world["news"]) == 3
    assert services.audience_count(mailing_list=world["vip"]) == 1
    with pytest.raises(services.AudienceError):
        services.audience_count()


# --- through HTTP ----------------------------------------------------------------------
@pytest.fixture
def marketer(db):
    return UserFactory(username="mia", groups=["Marketers"])


def builder_post(world, **rows):
    data = {"name": "Chinese VIPs", "mailing_list": world["news"].pk, "filters-match": "all"}
    for key, value in rows.items():
        data[key.replace("_", "-", 2)] = value
    return data


def test_the_form_saves_plain_rows_without_javascript(client, world, marketer):
    client.force_login(marketer)
    add_url = reverse("segment:add")
    page = client.get(add_url).content.decode()
    assert "audiences/segment_builder.js" in page
    assert 'name="filters-0-field"' in page and 'name="filters-1-field"' in page
    data = builder_post(
        world,
        filters_0_field="tag",
        filters_0_op="is",
        filters_0_value="vip",
        filters_1_field="language",
        filters_1_op="is",
        filters_1_language="zh-hans",
        filters_2_field="",  # an empty row: ignored
    )
    response = client.post(add_url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    segment = Segment.objects.get(name="Chinese VIPs")
    assert segment.filters == {
        "match": "all",
        "rules": [
            {"field": "tag", "op": "is", "value": "vip"},
            {"field": "language", "op": "is", "value": "zh-hans"},
        ],
    }
    edit = client.get(reverse("segment:edit", args=[segment.pk])).content.decode()
    assert 'value="vip"' in edit and "null" not in edit.split('name="filters-legacy"')[1][:40]


def test_a_bad_row_is_shown_on_the_form(client, world, marketer):
    client.force_login(marketer)
    data = builder_post(world, filters_0_field="engagement", filters_0_op="opened")
    data["filters-0-days"] = "abc"
    response = client.post(reverse("segment:add"), data)
    assert response.status_code == 200
    assert "Condition 1: the number of days" in response.content.decode()
    assert not Segment.objects.exists()


def test_live_count_answers_for_the_posted_rows(client, world, marketer):
    client.force_login(marketer)
    url = reverse("audiences_segment_count")
    data = builder_post(world, filters_0_field="tag", filters_0_op="is", filters_0_value="vip")
    answer = client.post(url, data).json()
    assert answer["count"] == 2 and "2 subscribers match" in answer["text"]
    assert answer["exact"] is True and "About" not in answer["text"]
    data["filters-match"] = "any"
    data.update({"filters-1-field": "timezone", "filters-1-op": "is", "filters-1-timezone": "UTC"})
    assert client.post(url, data).json()["count"] == 3
    data["filters-1-timezone"] = "Nowhere/Land"
    assert "Condition 2" in client.post(url, data).json()["error"]
    assert "mailing list" in client.post(url, {"filters-match": "all"}).json()["error"]
    assert client.get(url).status_code == 405


def test_live_count_needs_permission(client, world):
    client.force_login(UserFactory(username="lee", groups=["Leadership"]))
    url = reverse("audiences_segment_count")
    response = client.post(url, {"mailing_list": world["news"].pk, "filters-match": "all"})
    assert response.status_code in (302, 403)
    client.logout()
    response = client.post(url, {"mailing_list": world["news"].pk, "filters-match": "all"})
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_editing_a_segment_saved_before_the_builder_keeps_its_old_conditions(
    client, world, marketer
):
    old = Segment.objects.create(
        name="Old", mailing_list=world["news"], filters={"tags_all": ["vip"], "days": 30}
    )
    client.force_login(marketer)
    url = reverse("segment:edit", args=[old.pk])
    page = client.get(url).content.decode()
    assert "saved before the builder" in page
    legacy = page.split('name="filters-legacy" value="')[1].split('"')[0]
    data = builder_post(world, filters_0_field="language", filters_0_op="is")
    data.update(
        {"name": "Old", "filters-0-language": "en", "filters-legacy": legacy.replace("&quot;", '"')}
    )
    assert client.post(url, data).status_code == 302
    old.refresh_from_db()
    assert old.filters["tags_all"] == ["vip"] and old.filters["rules"][0]["value"] == "en"
    assert {s.email for s in services.segment_audience(old)} == {"bob@example.org"}


def test_live_count_says_about_when_it_estimates(client, world, marketer, monkeypatch):
    """An estimate (the exact count ran out of time at scale) is worded as one."""
    client.force_login(marketer)
    monkeypatch.setattr(services, "estimate_count", lambda **kwargs: (12345, False))
    data = builder_post(world, filters_0_field="tag", filters_0_op="is", filters_0_value="vip")
    answer = client.post(reverse("audiences_segment_count"), data).json()
    assert answer["exact"] is False and answer["count"] == 12345
    assert answer["text"].startswith("About 12345 subscribers match")
