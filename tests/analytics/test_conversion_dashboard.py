"""The campaign dashboard's conversion widgets, on events made through the real paths
(the redirect, the goal pixel, record_events, the store and the rollups): tiles, the
funnel, attribution per channel and per content under each model, the goals' targets,
cost per conversion and return on spend (worked examples), "—" where not measured,
the budget warning, and Leadership reading without editing.

The worked example (docs/metrics.md): a campaign with an email and a forum publication,
costs 300 and 200 CNY, budget 1,000 CNY. Ten recipients delivered; three click the
email's link (r0, r1, r2), two visitors click the forum's link (v1, v2). Three orders:
  A: 100 CNY after r0's email click, then v1's forum click;
  B:  50 CNY after r1's email click;
  C: 150 CNY after v2's forum click.
First touch: email A+B = 2 (150 CNY), forum C = 1 (150 CNY).
Last touch:  email B = 1 (50 CNY), forum A+C = 2 (250 CNY).
Linear:      email 0.5+1 = 1.5 (100 CNY), forum 0.5+1 = 1.5 (200 CNY).
"""

import datetime
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from analytics import rollups
from analytics.conversions import forget_goals
from analytics.events import record_events
from analytics.links import get_or_create_tracked_link
from analytics.models import Event, Goal
from analytics.tokens import message_token
from content.roles import LEADERSHIP, MARKETERS, sync_role_permissions
from tests.factories import ChannelAccountFactory, PublicationFactory, UserFactory

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"
pytestmark = pytest.mark.django_db


@pytest.fixture
def leader(db):
    for name in (LEADERSHIP, MARKETERS):
        Group.objects.get_or_create(name=name)
    sync_role_permissions()
    return UserFactory(username="leader", groups=[LEADERSHIP])


def _click(client, link, ip, token=None) -> str:
    """Click `link` through the redirect; the signed click id the shop gets back."""
    query = f"?m={token}" if token else ""
    response = client.get(f"/t/{link.code}{query}", HTTP_USER_AGENT=FIREFOX, REMOTE_ADDR=ip)
    assert response.status_code == 302
    return parse_qs(urlsplit(response["Location"]).query)["ch_click"][0]


def _order(client, goal, value, order, *clicks, ip="10.9.0.1"):
    query = "&".join(
        [f"value={value}", "currency=CNY", f"order={order}", *[f"ch_click={c}" for c in clicks]]
    )
    response = client.get(f"/c/{goal.key}?{query}", HTTP_USER_AGENT=FIREFOX, REMOTE_ADDR=ip)
    assert response.status_code == 200


@pytest.fixture
def example(client, email_publication, home_page):
    campaign = email_publication.campaign
    campaign.budget = Decimal("1000")
    # Begun yesterday: the deliveries five minutes ago fall in its dates at any hour
    # (just after midnight they are yesterday's).
    campaign.start_date -= datetime.timedelta(days=1)
    campaign.save()
    email_publication.cost = Decimal("300")
    email_publication.save()
    forum = PublicationFactory(
        campaign=campaign,
        page=email_publication.page,
        channel_account=ChannelAccountFactory(kind="forum/discourse", name="Forum"),
        cost=Decimal("200"),
    )
    goal = Goal.objects.create(
        campaign=campaign, name="Order", kind=Goal.Kind.EXTERNAL, target_count=4,
        site_hosts="shop.example.com",
        target_value=Decimal("500"), currency="CNY",
    )  # fmt: skip
    forget_goals()
    mail_link = get_or_create_tracked_link(
        "https://shop.example.com/buy", publication=email_publication
    )
    forum_link = get_or_create_tracked_link("https://shop.example.com/buy", publication=forum)
    record_events(
        [
            {
                "kind": "delivery",
                "publication_id": email_publication.pk,
                "occurred_at": timezone.now() - datetime.timedelta(minutes=5),
                "recipient_key": f"r{i}",
            }
            for i in range(10)
        ]
    )
    r = [
        _click(client, mail_link, f"10.1.0.{i}", message_token(email_publication.pk, f"r{i}"))
        for i in range(3)
    ]
    v1 = _click(client, forum_link, "10.2.0.1")
    v2 = _click(client, forum_link, "10.2.0.2")
    _order(client, goal, "100", "A", r[0], v1)
    _order(client, goal, "50", "B", r[1])
    _order(client, goal, "150", "C", v2)
    _order(client, goal, "150", "C", v2)  # posted twice: one order
    Event.objects.update(received_at=timezone.now() - datetime.timedelta(days=1))
    rollups.update_rollups()
    return {"campaign": campaign, "email": email_publication, "forum": forum, "goal": goal}


def _dashboard(client, campaign, **query):
    response = client.get(f"/admin/dashboards/campaign/{campaign.pk}/", query)
    assert response.status_code == 200
    return response


def _rows(response, table, key="channel"):
    return {row[key]: row for row in response.context["tables"][table]["rows"]}


def test_tiles_equal_their_definitions(client, leader, example):
    client.force_login(leader)
    response = _dashboard(client, example["campaign"])
    conversions = Event.objects.filter(
        kind="conversion", is_bot=False, campaign_id=example["campaign"].pk
    )
    clicks = Event.objects.filter(kind="click", is_bot=False, campaign_id=example["campaign"].pk)
    assert conversions.count() == 3 and clicks.count() == 5
    assert conversions.filter(is_first=True).count() == 3  # each order's last click, once
    tiles = {name: value for name, _label, value in response.context["conversion_kpis"]}
    assert tiles["conversions"] == 3
    assert tiles["conversion_rate"] == "60.0 %"  # 3 converting clicks / 5 clicks
    assert tiles["conversion_value"] == "300.00 CNY"
    assert tiles["cost"] == "500.00 CNY"
    assert tiles["cost_per_conversion"] == "166.67 CNY"  # 500 / 3
    assert tiles["roas"] == "0.60×"  # 300 / 500
    page = response.content.decode()
    assert 'data-kpi="roas"' in page and "0.60×" in page


def test_funnel(client, leader, example):
    client.force_login(leader)
    funnel = _dashboard(client, example["campaign"]).context["funnel"]
    email = {s["key"]: s for s in funnel["email"]}
    assert [email[k]["count"] for k in ("delivered", "opened", "clicked", "converted")] == [
        10, 3, 3, 1,
    ]  # fmt: skip
    assert email["opened"]["rate"] == 0.3 and email["clicked"]["rate"] == 1.0
    assert email["converted"]["rate"] == pytest.approx(1 / 3)  # 1 converting click of 3
    other = {s["key"]: s for s in funnel["other"]}
    assert (other["visited"]["count"], other["converted"]["count"]) == (2, 2)
    assert other["converted"]["rate"] == 1.0
    for step in funnel["email"] + funnel["other"]:
        assert step["rate"] is None or 0 <= step["rate"] <= 1


def test_model_select_changes_the_credited_numbers(client, leader, example):
    client.force_login(leader)
    expected = {
        # model: {channel: (credited, value, cost per conversion, return on spend)}
        "first": {"email": (2, "150.00", "150.00", 0.5), "forum": (1, "150.00", "200.00", 0.75)},
        "last": {"email": (1, "50.00", "300.00", 50 / 300), "forum": (2, "250.00", "100.00", 1.25)},
        "linear": {"email": (1.5, "100.00", "200.00", 100 / 300), "forum": (1.5, "200.00", "133.33", 1.0)},
    }  # fmt: skip
    for model, channels in expected.items():
        response = _dashboard(client, example["campaign"], model=model)
        rows = _rows(response, "attribution_channels")
        for channel, (credited, value, per, roas) in channels.items():
            row = rows[channel]
            assert row["credited"] == credited, (model, channel)
            assert row["value"] == Decimal(value), (model, channel)
            assert row["cost_per_conversion"] == Decimal(per), (model, channel)
            assert row["roas"] == pytest.approx(roas), (model, channel)
        # Every model credits all three conversions, side by side in each row.
        assert sum(r[model] for r in rows.values()) == pytest.approx(3)
        assert response.context["model"] == model
        assert f'<option value="{model}" selected>' in response.content.decode()
    rows = _rows(_dashboard(client, example["campaign"]), "attribution_channels")
    assert rows["email"]["conversion_rate"] == pytest.approx(1 / 3)
    assert rows["forum"]["conversion_rate"] == 1.0
    assert (rows["email"]["first"], rows["email"]["last"], rows["email"]["linear"]) == (2, 1, 1.5)


def test_content_rows_and_goals(client, leader, example):
    client.force_login(leader)
    response = _dashboard(client, example["campaign"], model="first")
    content = response.context["tables"]["attribution_content"]["rows"]
    by_channel = {r["channel"]: r for r in content}
    assert by_channel["email"]["credited"] == 2 and by_channel["email"]["cost"] == Decimal("300")
    assert by_channel["forum"]["credited"] == 1
    assert by_channel["forum"]["conversion_rate"] == 1.0
    (goal,) = response.context["tables"]["goals"]["rows"]
    assert (goal["target_count"], goal["conversions"], goal["count_progress"]) == (4, 3, 0.75)
    assert goal["value"] == Decimal("300.00") and goal["value_progress"] == 0.6
    page = response.content.decode()
    assert "75.0 %" in page and "60.0 %" in page


def test_no_cost_entered_shows_a_dash(client, leader, example):
    from campaigns.models import Publication

    Publication.objects.filter(campaign=example["campaign"]).update(cost=None)
    client.force_login(leader)
    response = _dashboard(client, example["campaign"])
    tiles = {name: value for name, _label, value in response.context["conversion_kpis"]}
    assert tiles["cost"] == tiles["cost_per_conversion"] == tiles["roas"] == "—"
    assert tiles["conversions"] == 3
    rows = _rows(response, "attribution_channels")
    assert rows["email"]["cost_per_conversion"] is None and rows["email"]["roas"] is None
    csv = client.get(
        f"/admin/dashboards/campaign/{example['campaign'].pk}/", {"export": "attribution_channels"}
    ).content.decode("utf-8-sig")
    assert "—" in csv.splitlines()[1]


def test_cost_of_zero_and_values_in_another_currency(client, leader, example):
    from campaigns.models import Publication

    Publication.objects.filter(campaign=example["campaign"]).update(cost=Decimal("0"))
    client.force_login(leader)
    tiles = dict(
        (n, v) for n, _l, v in _dashboard(client, example["campaign"]).context["conversion_kpis"]
    )
    assert tiles["cost_per_conversion"] == "0.00 CNY" and tiles["roas"] == "—"
    Publication.objects.filter(campaign=example["campaign"]).update(cost=Decimal("100"))
    example["campaign"].currency = "USD"
    example["campaign"].save()
    tiles = dict(
        (n, v) for n, _l, v in _dashboard(client, example["campaign"]).context["conversion_kpis"]
    )
    assert tiles["roas"] == "—"  # CNY values, USD costs: not compared
    assert tiles["cost_per_conversion"] == "66.67 USD"


def test_over_budget_warning_on_the_dashboard(client, leader, example):
    client.force_login(leader)
    assert "data-over-budget" not in _dashboard(client, example["campaign"]).content.decode()
    example["forum"].cost = Decimal("900")
    example["forum"].save()
    page = _dashboard(client, example["campaign"]).content.decode()
    assert "data-over-budget" in page and "by 200.00 CNY" in page


def test_overview_has_conversions(client, leader, example):
    client.force_login(leader)
    response = client.get("/admin/dashboards/overview/")
    assert response.status_code == 200
    (row,) = response.context["tables"]["campaigns"]["rows"]
    assert row["conversions"] == 3 and row["conversion_rate"] == 0.6
    assert b'data-kpi="conversions"' in response.content


def test_zh_hans_dashboard(client, leader, example):
    leader.wagtail_userprofile.preferred_language = "zh-hans"
    leader.wagtail_userprofile.save()
    client.force_login(leader)
    response = _dashboard(client, example["campaign"])
    assert response.status_code == 200
    assert 'lang="zh-hans"' in response.content.decode()
