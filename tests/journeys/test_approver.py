"""The approver's day: learn that a campaign waits for approval, open it, approve it.
Clicks only, in English and in Chinese."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from campaigns import services as campaign_services
from campaigns.models import Campaign, Notification
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db(transaction=True)

NAME = "Summer sale 2026"


@pytest.fixture
def approver(demo_content, make_user, lang):
    return make_user("approver", lang)


@pytest.fixture
def waiting_campaign(approver, make_user):
    """A campaign its marketer submitted for approval (the service the button calls)."""
    marketer = make_user("marketer", "en", username="marketer-mia")
    today = timezone.localdate()
    campaign = CampaignFactory(
        name=NAME,
        slug="summer-sale-2026",
        owner=marketer,
        start_date=today,
        end_date=today + datetime.timedelta(days=30),
    )
    campaign_services.submit_campaign_for_approval(campaign, actor=marketer)
    return campaign


def test_approver_sees_the_waiting_campaign_and_approves_it(
    open_journey, approver, waiting_campaign, lang
):
    j = open_journey("approver", lang)
    j.login(f"approver-{lang}")

    # Told: a notification (admin notice and email, issue 16, point 6), and the home
    # page's panel of what waits for them (point 8), from which they open it.
    assert Notification.objects.filter(user=approver, campaign=waiting_campaign).exists()
    j.expect_text(j.t("Campaigns waiting for your approval"))
    panel = j.page.locator("[data-home-panel=approvals]")
    expect(panel).to_contain_text(NAME)
    j.click_link(j.t("Review"), within=panel)
    j.step("campaign waiting")
    j.expect_text(j.t("Awaiting approval"))

    j.click_button(j.t("Approve"))
    j.expect_message(j.t("Campaign approved."))
    j.step("approved")
    waiting_campaign.refresh_from_db()
    assert waiting_campaign.status == Campaign.Status.APPROVED
    assert waiting_campaign.approved_by == approver
