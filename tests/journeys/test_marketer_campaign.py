"""The marketer's day, by clicking only, in English and in Chinese: a campaign made with
the date chooser, an email and a blog publication picked with the content chooser and
timed in the team's zone, submitted for approval, then seen on the schedule calendar.
"""

import datetime
import zoneinfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from campaigns.models import Campaign
from tests.factories import ChannelAccountFactory, make_email_issue

from .conftest import TEAM_ZONE

pytestmark = pytest.mark.django_db(transaction=True)

PICKER = ".xdsoft_datetimepicker:visible"


@pytest.fixture
def accounts_and_content(team_zone, demo_content, smtp_account):
    from content.models import HomePage

    make_email_issue(HomePage.objects.get(), slug="summer-news", title="Summer news")
    ChannelAccountFactory(kind="blog/wagtail_site", name="Campaign Hub blog")
    return smtp_account


def pick_date(j, label: str, day: datetime.date):
    """Open the date chooser of the field `label` and click `day` in its calendar,
    turning its months forward as needed."""
    field = j.field(label)
    field.click()
    picker = j.page.locator(PICKER)
    expect(picker).to_have_count(1)  # the calendar opens: no initDateChooser error
    # The chooser's own cell for the day (its months count from 0); the days of the
    # next month that fill the last week count too.
    cell = picker.locator(
        f".xdsoft_date[data-date='{day.day}'][data-month='{day.month - 1}'][data-year='{day.year}']"
    )
    for _ in range(3):
        if cell.count():
            break
        picker.locator(".xdsoft_next").first.click()
        j.page.wait_for_timeout(300)  # the chooser redraws its month
    cell.first.click()
    expect(field).to_have_value(f"{day:%Y-%m-%d}")
    expect(picker).to_have_count(0)  # a chosen day closes the chooser


def choose_content(j, title: str):
    """Pick `title` in the content chooser (issue 16, point 4): a search over the
    publishable pages only, each with its type, status, language and last edit."""
    j.click_button(j.t("Choose content"))
    modal = j.page.get_by_role("dialog")
    for column in ("Type", "Status", "Language", "Last edited"):
        expect(modal.get_by_role("columnheader", name=j.t(column))).to_be_visible()
    # Index pages are not content a campaign can publish.
    expect(modal.get_by_role("link", name="Blog", exact=True)).to_have_count(0)
    modal.get_by_role("textbox").first.fill(title)
    modal.get_by_role("link", name=title, exact=True).first.click()
    expect(modal).to_have_count(0)
    j.expect_text(title)


def type_time(j, label: str, day: datetime.date, hh_mm: str):
    """A time as people here type it: 2026/12/31 08:30 in Chinese (issue 16, point 3),
    ISO in English; the field's chooser opens on a click."""
    text = f"{day:%Y/%m/%d} {hh_mm}" if j.lang.startswith("zh") else f"{day:%Y-%m-%d} {hh_mm}"
    field = j.field(label)
    field.click()
    expect(j.page.locator(PICKER)).to_have_count(1)
    field.fill(text)
    field.press("Tab")


def test_marketer_creates_a_campaign_with_email_and_blog_and_submits_it(
    open_journey, make_user, lang, accounts_and_content
):
    from campaigns.models import Publication

    marketer = make_user("marketer", lang)
    j = open_journey("marketer", lang, "campaign")
    j.login(f"marketer-{lang}")
    today = timezone.localdate()
    slot_day = today + datetime.timedelta(days=2)
    end_day = today + datetime.timedelta(days=30)

    j.click_menu(j.t("Campaigns"), j.t("Campaigns"))
    j.click_link(j.t("Add campaign"))
    j.fill_field(j.label("name"), "Summer sale 2026")
    j.fill_field(j.label("slug"), "summer-sale-2026")
    j.fill_field(j.label("goal"), "Sell the summer range")
    pick_date(j, j.label("start date"), today)
    pick_date(j, j.label("end date"), end_day)
    j.step("new campaign")
    j.click_button(j.t("Save"))
    j.expect_message(j.t("Campaign “%(name)s” created.", name="Summer sale 2026"))
    campaign = Campaign.objects.get(slug="summer-sale-2026")
    assert campaign.owner == marketer
    assert (campaign.start_date, campaign.end_date) == (today, end_day)
    j.step("campaign created")

    # The email: the issue, the SMTP account, 08:30 in the team's zone, which the new
    # publication starts in and the time field names.
    j.click_link(j.t("Add publication"))
    choose_content(j, "Summer news")
    j.choose(j.label("channel account"), "Newsletter SMTP")
    expect(j.field(j.t("Time zone"))).to_have_value(TEAM_ZONE)
    type_time(j, j.label("publish at"), slot_day, "08:30")
    assert j.t("In %(zone)s.", zone=TEAM_ZONE) in j.field_help(j.label("publish at"))
    j.fill_field(j.label("email subject"), "Summer news")
    # A campaign is scheduled once approved: until then its publications are drafts
    # that keep their time.
    j.field(j.t("Schedule it")).uncheck()
    j.step("email publication")
    j.click_button(j.t("Save"))
    j.expect_message(j.t("Publication saved (%(status)s).", status=j.t("Draft")))
    j.step("email publication saved")
    # The send panel (audience, preview, test send) is reachable from the publication
    # before anything is sent (issue 16, point 1).
    expect(j.page.get_by_role("link", name=j.t("Send panel"))).to_be_visible()
    email_pub = Publication.objects.get(campaign=campaign, channel_account=accounts_and_content)
    team_time = datetime.datetime.combine(
        slot_day, datetime.time(8, 30), tzinfo=zoneinfo.ZoneInfo(TEAM_ZONE)
    )
    assert email_pub.publish_at == team_time, (
        f"08:30 typed in the team zone was read as {email_pub.publish_at.isoformat()}"
    )
    assert email_pub.timezone == TEAM_ZONE

    # The blog post on this hub's blog, later the same day.
    j.click_link(f"← {campaign.name}")
    j.click_link(j.t("Add publication"))
    choose_content(j, "The spring sale checklist")
    j.choose(j.label("channel account"), "Campaign Hub blog")
    type_time(j, j.label("publish at"), slot_day, "10:00")
    j.field(j.t("Schedule it")).uncheck()
    j.click_button(j.t("Save"))
    j.expect_message(j.t("Publication saved (%(status)s).", status=j.t("Draft")))
    j.step("blog publication saved")

    j.click_link(f"← {campaign.name}")
    j.click_button(j.t("Submit for approval"))
    j.expect_message(j.t("Submitted for approval."))
    j.step("submitted")
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.AWAITING_APPROVAL
    assert campaign.publications.exclude(publish_at=None).count() == 2

    # The schedule calendar shows both, at the times typed, in the team's zone.
    j.click_menu(j.t("Campaigns"), j.t("Schedule calendar"))
    j.expect_text(j.t("Times in %(zone)s", zone=TEAM_ZONE))
    if slot_day.month != today.month:
        j.click_link(f"{j.t('Next')} »")
    items = j.page.locator(".cs-cal-item")
    expect(items.filter(has_text="Summer news")).to_contain_text("08:30")
    expect(items.filter(has_text="The spring sale checklist")).to_contain_text("10:00")
    j.step("calendar")
    # The email's send panel from the calendar too (issue 16, point 1).
    j.click_link(j.t("Send panel"), within=items.filter(has_text="Summer news"))
    expect(j.page.get_by_role("heading", name=j.t("Checklist"))).to_be_visible()
    j.step("send panel from the calendar")
