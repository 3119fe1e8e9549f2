"""The marketer's day, by clicking only, in English and in Chinese: the approved email's
send panel (checklist, preview, test send), then the send itself watched to 100 %
against a loopback SMTP server, paused and resumed on the way.

The send runs for real: the beat thread ticks the dispatcher every second, the Celery
worker thread sends batches of 10 through the SMTP account to the loopback server.
"""

import datetime
import time

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from campaigns import services as campaign_services
from campaigns.models import Campaign, Publication
from channels.email import services as email_services
from channels.email.models import EmailSend
from tests.factories import CampaignFactory, PublicationFactory, make_email_issue

from .conftest import READERS

pytestmark = pytest.mark.django_db(transaction=True)

NAME = "Summer sale 2026"
# A mail server that takes its time, as real ones do: the send lasts long enough (about
# 10 s) for a person to see it move and pause it.
SECONDS_PER_MESSAGE = 0.08


@pytest.fixture
def approved_campaign(
    team_zone, demo_content, make_user, lang, smtp_account, news_list, celery_running
):
    """The campaign of test_marketer_campaign once its approver approved it: the email
    scheduled for tomorrow, through the services the buttons call."""
    from content.models import HomePage

    marketer = make_user("marketer", lang)
    approver = make_user("approver", "en", username="approver-sam")
    today = timezone.localdate()
    campaign = CampaignFactory(
        name=NAME,
        slug="summer-sale-2026",
        owner=marketer,
        start_date=today - datetime.timedelta(days=1),
        end_date=today + datetime.timedelta(days=30),
    )
    issue = make_email_issue(
        HomePage.objects.get(), slug="summer-news", title="Summer news", subject="Summer news"
    )
    publication = PublicationFactory(
        campaign=campaign, page=issue, channel_account=smtp_account, publish_at=None
    )
    email_services.set_email_audience(publication, news_list)
    campaign_services.submit_campaign_for_approval(campaign, actor=marketer)
    campaign_services.approve_campaign(campaign, approver)
    campaign_services.schedule_publication(
        publication, timezone.now() + datetime.timedelta(days=1), actor=marketer
    )
    return campaign, publication, marketer


def wait_until(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"waited {seconds} s for {what}"
        time.sleep(0.2)


def test_marketer_checks_tests_and_watches_the_send_reach_100_percent(
    open_journey, lang, approved_campaign, smtp_server
):
    campaign, publication, marketer = approved_campaign
    _controller, handler = smtp_server
    handler.on_message = lambda count: time.sleep(SECONDS_PER_MESSAGE)

    j = open_journey("marketer", lang, "send")
    j.login(f"marketer-{lang}")
    j.click_menu(j.t("Campaigns"), j.t("Campaigns"))
    j.click_link(campaign.name)
    j.step("campaign")

    # The send panel, from the campaign, before the send (issue 16, point 1).
    j.click_link(j.t("Send panel"))
    checklist = j.page.locator(".send-checklist")
    for key in ("audience", "from", "subject", "content", "preview", "schedule"):
        expect(checklist.locator(f"[data-check='{key}']")).to_have_class(
            "send-checklist__item is-ok"
        )
    audience = checklist.locator("[data-check='audience']")
    expect(audience).to_contain_text("News")
    j.expect_text(j.t("Everything needed is in place."))
    j.step("send panel")

    # Preview as a recipient will see it, in a tab of its own.
    with j.page.context.expect_page() as preview_tab:
        j.click_link(j.t("Open the preview"))
    preview = preview_tab.value
    expect(preview.get_by_text("Summer news").first).to_be_visible()
    preview.close()

    # A test send to myself, over the same SMTP account; the checklist ticks it.
    j.fill_field(j.t("Send a test to"), "me@hub.example.com")
    j.click_button(j.t("Send a test"))
    j.expect_message(j.tn("Test sent to %(n)s address.", "Test sent to %(n)s addresses.", 1))
    expect(checklist.locator("[data-check='test']")).to_have_class("send-checklist__item is-ok")
    assert any("me@hub.example.com" in rcpts for rcpts, _raw in handler.messages)
    j.step("test sent")
    test_messages = len(handler.messages)

    # The slot comes: the publication is moved to now (time passing, not a click), and
    # the marketer comes back through the Sends menu once it is going out.
    campaign_services.schedule_publication(
        Publication.objects.get(pk=publication.pk),
        timezone.now() + datetime.timedelta(seconds=2),
        actor=marketer,
    )
    wait_until(
        lambda: EmailSend.objects.filter(publication=publication, frozen_at__isnull=False).exists(),
        30,
        "the send to start",
    )
    j.click_menu(j.t("Campaigns"), j.t("Sends"))
    j.step("sends list")
    j.click_link(publication.effective_title)

    # The progress refreshes itself (no reload): a bar, figures, and the controls.
    progress = j.page.locator("#send-progress")
    expect(progress.get_by_role("progressbar")).to_be_visible()
    j.click_button(j.t("Pause sending"))
    # Answered in words: how many wait (issue 16, point 7), not "Done.".
    j.expect_message(
        j.tn_pattern(
            "Sending paused: %(n)s message waits. Resume to continue.",
            "Sending paused: %(n)s messages wait. Resume to continue.",
        )
    )
    send = EmailSend.objects.get(publication=publication)
    assert send.status == EmailSend.Status.PAUSED
    expect(progress).to_contain_text(j.t("Paused"))
    j.step("paused")
    time.sleep(1.5)  # an in-flight batch may finish; after it nothing more may go out
    sent_while_paused = len(handler.messages)
    time.sleep(1.5)
    assert len(handler.messages) == sent_while_paused, "mail went out while paused"
    assert sent_while_paused < READERS + test_messages, "the send finished before the pause"

    j.click_button(j.t("Resume sending"))
    j.expect_message(
        j.tn_pattern(
            "Sending resumed: %(n)s message to go.", "Sending resumed: %(n)s messages to go."
        )
    )
    j.step("resumed")

    # Watch it to the end, the page refreshing itself.
    bar = progress.get_by_role("progressbar")
    expect(bar).to_have_attribute("value", "100", timeout=60_000)
    expect(progress.locator(".send-progress__status")).to_contain_text(j.t("Finished"))
    expect(progress.locator("[data-figure='sent']")).to_have_text(str(READERS))
    j.step("finished")

    recipients = [r for rcpts, _raw in handler.messages[test_messages:] for r in rcpts]
    assert len(recipients) == READERS
    assert len(set(recipients)) == READERS, "someone got the issue twice"
    counts = email_services.send_counts(send)
    assert counts["sent"] == READERS and counts["pending"] == 0
    campaign.refresh_from_db()
    assert campaign.status != Campaign.Status.AWAITING_APPROVAL
