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
def waiting_campaign(demo_content, make_user):
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
    open_journey, make_user, waiting_campaign, lang
):
    approver = make_user("approver", lang)
    j = open_journey("approver", lang)
    j.login(f"approver-{lang}")

    # Told, in their language: a notification and the home page (issue 16, point 6 and 8).
    j.check(
        Notification.objects.filter(user=approver, campaign=waiting_campaign).exists(),
        "no notification for the approver when the campaign was submitted",
    )
    j.check(
        j.page.locator("main").get_by_text(NAME).count() > 0,
        "the approver's home page does not show the campaign waiting for approval",
    )

    j.click_menu(j.t("Campaigns"), j.t("Campaigns"))
    row = j.page.get_by_role("row").filter(has_text=NAME)
    expect(row).to_contain_text(j.t("Awaiting approval"))
    j.step("campaign list")
    j.click_link(NAME)
    j.step("campaign waiting")

    j.click_button(j.t("Approve"))
    j.expect_message(j.t("Campaign approved."))
    j.step("approved")
    waiting_campaign.refresh_from_db()
    assert waiting_campaign.status == Campaign.Status.APPROVED
    assert waiting_campaign.approved_by == approver
