"""A conversion from a campaign email to Leadership's dashboard (issue 20, "Done means"):
the email goes out for real (dispatcher, Celery worker, SMTP fan-out to a loopback
server); a reader in a real Chromium clicks the tracked link in the message received,
lands on the campaign's landing page (the redirect sets the click cookie), and submits
its form; the drainer and the rollup store and credit the conversion; Leadership opens
the campaign's dashboard by clicking and sees the conversion attributed to the email,
under the model chosen on the dashboard.
"""

import datetime
import re
import time

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from analytics.conversions import forget_goals
from analytics.draining import drain_event_queue
from analytics.models import Event, Goal, TrackedLink
from analytics.rollups import update_rollups
from campaigns import services as campaign_services
from campaigns.leads.models import LandingPage, LeadFormField, LeadSubmission
from channels.email import services as email_services
from channels.email.models import EmailSend
from tests.factories import CampaignFactory, PublicationFactory, add_child, make_email_issue

from .test_leadership_figures import tracked_urls
from .test_marketer_send import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

READER_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/140.0 Safari/537.36"
)
NAME = "Spring demo days"


@pytest.fixture
def email_with_landing_page(
    settings, team_zone, demo_content, make_user, lang, smtp_account, news_list, celery_running,
    journey_server,
):  # fmt: skip
    """A campaign whose email links to its landing page, with a "form submitted" goal
    on that page; approved and due in a second."""
    from content.models import HomePage

    settings.SITE_BASE_URL = journey_server.url
    home = HomePage.objects.get()
    landing = LandingPage(
        title="Book a demo", slug="book-a-demo", intro="<p>Book a demo of our tools.</p>"
    )
    for i, (label, kind) in enumerate((("Email", "email"), ("Full name", "name"))):
        landing.form_fields.add(
            LeadFormField(sort_order=i, label=label, field_type=kind, required=True)
        )
    add_child(home, landing)
    path = landing.get_url_parts()[2]  # its path on the hub (the live server)
    marketer = make_user("marketer", lang)
    approver = make_user("approver", "en", username="approver-sam")
    today = timezone.localdate()
    campaign = CampaignFactory(
        name=NAME,
        slug="spring-demo-days",
        owner=marketer,
        start_date=today - datetime.timedelta(days=1),
        end_date=today + datetime.timedelta(days=30),
        budget=100,
    )
    Goal.objects.create(campaign=campaign, name="Demo booked", kind="form", page=landing)
    forget_goals()
    issue = make_email_issue(
        home,
        slug="spring-demo-news",
        title="Spring demo news",
        subject="Spring demo news",
        body=[
            (
                "paragraph",
                f'<p>Hello. <a href="{journey_server.url}{path}">Book a demo</a></p>',
            )
        ],
    )
    publication = PublicationFactory(
        campaign=campaign, page=issue, channel_account=smtp_account, publish_at=None, cost=40
    )
    email_services.set_email_audience(publication, news_list)
    campaign_services.submit_campaign_for_approval(campaign, actor=marketer)
    campaign_services.approve_campaign(campaign, approver)
    campaign_services.schedule_publication(
        publication, timezone.now() + datetime.timedelta(seconds=1), actor=marketer
    )
    return campaign, publication, landing


def test_a_reader_converts_from_an_email_and_leadership_sees_it_credited(
    email_with_landing_page, smtp_server, browser, open_journey, make_user, lang, journey_server
):
    campaign, publication, landing = email_with_landing_page
    landing_path = landing.get_url_parts()[2]
    _controller, handler = smtp_server
    wait_until(
        lambda: EmailSend.objects.filter(
            publication=publication, status=EmailSend.Status.FINISHED
        ).exists(),
        90,
        "the send to finish",
    )
    clicks, _pixels = tracked_urls(handler.messages[0][1])
    # The message's "Book a demo" link (others: the issue on the web, unsubscribe).
    link = TrackedLink.objects.get(publication=publication, original_url__endswith=landing_path)
    (click_url,) = [url for url in clicks if f"/t/{link.code}?" in url]
    # Readers act a little later than a mail scanner would (analytics.events).
    time.sleep(2.5)

    # The reader: the link in the message, the landing page, the form.
    context = browser.new_context(user_agent=READER_UA)
    reader = context.new_page()
    errors = []
    reader.on("console", lambda m: m.type == "error" and errors.append(m.text))
    reader.goto(click_url)
    expect(reader).to_have_url(re.compile(re.escape(landing_path)))
    reader.get_by_label("Email").fill("reader@example.org")
    reader.get_by_label("Full name").fill("Li Lei")
    reader.get_by_role("button").last.click()
    expect(reader.locator("body")).to_contain_text("Thank you", ignore_case=True)
    context.close()
    assert not errors, errors
    assert LeadSubmission.objects.filter(page=landing).count() == 1

    wait_until(
        lambda: drain_event_queue() >= 0 and Event.objects.filter(kind="conversion").exists(),
        20,
        "the conversion to be stored",
    )
    conversion = Event.objects.get(kind="conversion")
    assert (conversion.campaign_id, conversion.channel) == (campaign.pk, "email")
    assert conversion.publication_id == publication.pk and not conversion.is_bot
    update_rollups(now=timezone.now() + datetime.timedelta(minutes=5))

    # Leadership: Dashboards, the campaign, the conversion credited to the email.
    make_user("leadership", lang)
    j = open_journey("leadership", lang, "conversions")
    j.login(f"leadership-{lang}")
    j.click_menu(j.t("Dashboards"))
    j.click_link(campaign.name)
    expect(j.page.locator("[data-kpi='conversions'] b")).to_have_text("1")
    expect(j.page.locator("[data-kpi='cost'] b")).to_have_text("40.00 CNY")
    expect(j.page.locator("[data-kpi='cost_per_conversion'] b")).to_have_text("40.00 CNY")
    table = j.page.locator("table[data-table=attribution_channels]")
    email_row = table.locator("tr").filter(has_text=j.t("Email"))
    expect(email_row).to_have_count(1)
    expect(email_row.locator("td").first).to_have_text(j.t("Email"))
    content = j.page.locator("table[data-table=attribution_content]")
    expect(content.locator("tr").filter(has_text="Spring demo news")).to_have_count(1)
    expect(
        j.page.locator("[data-funnel-group=email] [data-step=converted] [data-count]")
    ).to_have_text("1")
    j.step("conversion on the dashboard")

    # Another model, from the select: the page reloads with it, the email keeps the
    # single conversion (it is the only touch).
    j.page.locator("select[name=model]").select_option("first")
    expect(j.page).to_have_url(re.compile(r"[?&]model=first"))
    expect(j.page.locator("select[name=model]")).to_have_value("first")
    email_row = j.page.locator("table[data-table=attribution_channels] tr").filter(
        has_text=j.t("Email")
    )
    expect(email_row).to_have_count(1)
    j.step("first touch")
