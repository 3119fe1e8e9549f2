"""The goals in the admin: reached from the campaign's page, added with the campaign
chosen, an external goal's script tag and pixel URL shown to copy; Leadership reads and
changes nothing."""

import pytest
from django.contrib.auth.models import Group

from analytics.models import Goal
from content.roles import LEADERSHIP, MARKETERS, sync_role_permissions
from tests.factories import CampaignFactory, UserFactory


@pytest.fixture
def roles(db):
    for name in (LEADERSHIP, MARKETERS, "Editors"):
        Group.objects.get_or_create(name=name)
    sync_role_permissions()


@pytest.fixture
def marketer(roles):
    return UserFactory(username="marketer", groups=[MARKETERS])


@pytest.fixture
def leader(roles):
    return UserFactory(username="leader", groups=[LEADERSHIP])


def test_marketer_adds_an_external_goal_from_the_campaign_and_copies_its_snippet(
    client, marketer, home_page
):
    campaign = CampaignFactory(owner=marketer, currency="USD")
    client.force_login(marketer)
    detail = client.get(f"/admin/campaigns/{campaign.pk}/")
    assert f'href="/admin/goals/?campaign={campaign.pk}"' in detail.content.decode()
    index = client.get("/admin/goals/", {"campaign": campaign.pk})
    assert index.status_code == 200
    add = client.get("/admin/goals/new/", {"campaign": campaign.pk})
    assert f'<option value="{campaign.pk}" selected>' in add.content.decode()
    assert 'value="USD"' in add.content.decode()  # the campaign's currency, to start with
    # Another currency than the campaign's is refused: a campaign's goal values add up.
    refused = client.post(
        "/admin/goals/new/",
        {"campaign": campaign.pk, "name": "Shop", "kind": "external", "currency": "EUR"},
    )
    assert refused.status_code == 200 and not Goal.objects.exists()
    assert "Use the campaign&#x27;s currency, USD" in refused.content.decode()
    # An external goal names the site its script runs on, as host names.
    assert "Name your site" in refused.content.decode()
    bad_host = client.post(
        "/admin/goals/new/",
        {"campaign": campaign.pk, "name": "Shop", "kind": "external", "site_hosts": "shop_1!"},
    )
    assert "is not a host name" in bad_host.content.decode() and not Goal.objects.exists()

    response = client.post(
        "/admin/goals/new/",
        {
            "campaign": campaign.pk,
            "name": "Shop order",
            "kind": "external",
            "target_count": "100",
            "target_value": "5000.00",
            "currency": "usd",
            "site_hosts": "https://Shop.Example.com/checkout, 例子.中国",
            "active": "on",
        },
    )
    assert response.status_code == 302, response.content[:3000]
    goal = Goal.objects.get()
    assert (goal.campaign, goal.currency, goal.target_count) == (campaign, "USD", 100)
    assert goal.site_hosts == "shop.example.com 例子.中国"  # a pasted address keeps its host
    assert len(goal.key) == 16

    edit = client.get(f"/admin/goals/edit/{goal.pk}/").content.decode()
    assert f"https://hub.example.com/c/{goal.key}.js" in edit
    assert f"https://hub.example.com/c/{goal.key}?value=99.00&amp;currency=USD" in edit
    assert "data-convert" in edit
    assert "Shop order" in client.get("/admin/goals/", {"campaign": campaign.pk}).content.decode()


def test_form_and_page_goals_need_their_page(client, marketer, home_page):
    campaign = CampaignFactory(owner=marketer)
    client.force_login(marketer)
    data = {"campaign": campaign.pk, "name": "Sign-up", "kind": "form", "active": "on"}
    response = client.post("/admin/goals/new/", data)
    assert response.status_code == 200
    assert "Choose the page this goal is reached on." in response.content.decode()
    response = client.post("/admin/goals/new/", {**data, "currency": "€"})
    assert "three-letter currency code" in response.content.decode()
    assert client.post("/admin/goals/new/", {**data, "page": home_page.pk}).status_code == 302
    goal = Goal.objects.get()
    assert goal.page_id == home_page.pk and goal.currency == "CNY"
    # A form goal has no snippet to copy.
    assert "data-convert" not in client.get(f"/admin/goals/edit/{goal.pk}/").content.decode()


def test_leadership_cannot_change_goals(client, leader):
    campaign = CampaignFactory()
    goal = Goal.objects.create(campaign=campaign, name="Order", kind="external")
    client.force_login(leader)
    data = {"campaign": campaign.pk, "name": "x", "kind": "external", "active": "on"}
    assert client.post("/admin/goals/new/", data).status_code in (302, 403)
    assert client.post(f"/admin/goals/edit/{goal.pk}/", data).status_code in (302, 403)
    assert client.post(f"/admin/goals/delete/{goal.pk}/").status_code in (302, 403)
    goal.refresh_from_db()
    assert goal.name == "Order" and Goal.objects.count() == 1
