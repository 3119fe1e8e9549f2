"""Budget and cost: entered in the admin forms, summed on the campaign page, and a total
over the budget is never silent (campaign page, save messages)."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from campaigns.budget import campaign_spend, publication_costs_by_channel
from campaigns.models import Campaign, Publication
from tests.factories import ChannelAccountFactory, PublicationFactory, UserFactory

pytestmark = pytest.mark.django_db
S = Publication.Status


def url(name, *args):
    return reverse(f"campaigns_admin:{name}", args=args)


@pytest.fixture
def marketer(db):
    return UserFactory(username="mia", groups=["Marketers"])


@pytest.fixture
def leader(db):
    return UserFactory(username="lee", groups=["Leadership"])


@pytest.fixture
def manual(db):
    return ChannelAccountFactory(kind="manual/placement", name="Partner site")


def test_spend_sums_costs_of_publications_not_cancelled(campaign, post, manual):
    campaign.budget, campaign.currency = Decimal("1000.00"), "CNY"
    campaign.save()
    forum = ChannelAccountFactory(kind="forum/discourse", name="Forum")
    PublicationFactory(campaign=campaign, page=post, channel_account=manual, cost=Decimal("600"))
    PublicationFactory(campaign=campaign, page=post, channel_account=forum, cost=Decimal("150.50"))
    PublicationFactory(campaign=campaign, page=post, channel_account=forum)  # no cost entered
    PublicationFactory(
        campaign=campaign,
        page=post,
        channel_account=manual,
        cost=Decimal("999"),
        status=S.CANCELLED,
    )
    spend = campaign_spend(campaign)
    assert spend.spent == Decimal("750.50") and spend.costed == 2
    assert spend.remaining == Decimal("249.50") and not spend.over_budget
    assert spend.used == pytest.approx(0.7505)
    by_pub, by_channel = publication_costs_by_channel(campaign.pk)
    assert by_channel == {"manual": Decimal("600"), "forum": Decimal("150.50")}
    assert sorted(by_pub.values()) == [Decimal("150.50"), Decimal("600")]


def test_no_cost_entered_is_not_zero_and_no_budget_never_warns(campaign, post, manual):
    PublicationFactory(campaign=campaign, page=post, channel_account=manual)
    spend = campaign_spend(campaign)
    assert spend.spent is None and spend.costed == 0
    assert spend.remaining is None and spend.used is None and not spend.over_budget


def test_budget_edited_in_the_campaign_form_and_over_budget_is_shown(
    client, marketer, campaign, post, manual
):
    client.force_login(marketer)
    data = {
        "name": campaign.name, "slug": campaign.slug, "goal": "", "description": "",
        "start_date": "2020-01-01", "end_date": "2099-12-31", "owner": campaign.owner_id,
        "target_keyphrases": "", "budget": "500", "currency": "USD",
    }  # fmt: skip
    response = client.post(url("edit", campaign.pk), data)
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.budget == Decimal("500") and campaign.currency == "USD"
    # A negative budget is refused with a field error.
    response = client.post(url("edit", campaign.pk), {**data, "budget": "-1"})
    assert response.status_code == 200
    campaign.refresh_from_db()
    assert campaign.budget == Decimal("500")

    PublicationFactory(campaign=campaign, page=post, channel_account=manual, cost=Decimal("400"))
    page = client.get(url("detail", campaign.pk)).content.decode()
    assert "400.00 USD" in page and "data-over-budget" not in page
    PublicationFactory(campaign=campaign, page=post, channel_account=manual, cost=Decimal("250"))
    page = client.get(url("detail", campaign.pk)).content.decode()
    assert "data-over-budget" in page
    assert "650.00 USD" in page and "by 150.00 USD" in page


def test_cost_on_a_published_placement_is_editable_and_warns(
    client, marketer, campaign, post, manual
):
    campaign.budget = Decimal("100")
    campaign.save()
    pub = PublicationFactory(
        campaign=campaign, page=post, channel_account=manual, status=S.PUBLISHED
    )
    client.force_login(marketer)
    page = client.get(url("publication_edit", pub.pk)).content.decode()
    assert "data-cost-form" in page  # the main form is closed, the cost is not
    response = client.post(url("publication_cost", pub.pk), {"cost": "120"})
    assert response.status_code == 302
    pub.refresh_from_db()
    assert pub.cost == Decimal("120") and pub.status == S.PUBLISHED
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("exceed the campaign's budget" in t and "by 20.00 CNY" in t for t in texts)
    # Negative: refused, nothing written.
    client.post(url("publication_cost", pub.pk), {"cost": "-5"})
    pub.refresh_from_db()
    assert pub.cost == Decimal("120")


def test_cost_in_the_publication_form(client, marketer, campaign, post, manual):
    client.force_login(marketer)
    data = {
        "page": post.pk, "channel_account": manual.pk, "timezone": "UTC", "publish_at": "",
        "repeat": "none", "ends": "never", "cost": "88.50",
    }  # fmt: skip
    response = client.post(url("publication_create", campaign.pk), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    pub = Publication.objects.get(campaign=campaign)
    assert pub.cost == Decimal("88.50") and pub.status == S.DRAFT
    response = client.post(url("publication_edit", pub.pk), {**data, "cost": "90"})
    assert response.status_code == 302
    pub.refresh_from_db()
    assert pub.cost == Decimal("90")


def test_leadership_sees_the_budget_but_cannot_edit_it(client, leader, campaign, post, manual):
    campaign.budget = Decimal("10")
    campaign.save()
    pub = PublicationFactory(
        campaign=campaign, page=post, channel_account=manual, cost=Decimal("3")
    )
    client.force_login(leader)
    page = client.get(url("detail", campaign.pk)).content.decode()
    assert "10.00 CNY" in page and "3.00 CNY" in page
    response = client.post(url("edit", campaign.pk), {"budget": "99999"})
    assert response.status_code in (302, 403)
    response = client.post(url("publication_cost", pub.pk), {"cost": "0"})
    assert response.status_code in (302, 403)
    campaign.refresh_from_db()
    pub.refresh_from_db()
    assert campaign.budget == Decimal("10") and pub.cost == Decimal("3")
    assert Campaign.objects.get(pk=campaign.pk).budget == Decimal("10")
    assert datetime.date(2020, 1, 1) == campaign.start_date
