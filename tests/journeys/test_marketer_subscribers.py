"""A marketer finds subscribers among many, by clicking only, in English and Chinese:
the one search box (a Chinese surname, a Latin name, an address typed in another case),
the tag and list filters, and a subscriber's page with its lists. The wording of the
counts is checked over HTTP (tests/campaigns/audiences/test_admin_listing.py); here the
screens are used as a person uses them, with no console errors."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from .test_marketer import menu_label

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def audience(journey_server):
    from campaigns.audiences.models import MailingList, Subscriber, Subscription

    news = MailingList.objects.create(name="Weekly news", slug="weekly-news")
    people = {
        email: Subscriber.objects.create(email=email, name=name)
        for email, name in [
            ("wang.fang@example.cn", "王芳"),
            ("xiaoming@example.cn", "王小明"),
            ("li.wang@example.cn", "李王"),
            ("alice.smith@example.com", "Alice Smith"),
            ("bob@example.com", "Bob Brown"),
        ]
    }
    people["xiaoming@example.cn"].set_tags("vip")
    people["xiaoming@example.cn"].save()
    for email in ("xiaoming@example.cn", "alice.smith@example.com"):
        Subscription.objects.create(
            subscriber=people[email],
            mailing_list=news,
            status=Subscription.Status.SUBSCRIBED,
            consent_at=timezone.now(),
            consent_method=Subscription.Method.ADMIN,
        )
    return people


def open_filter(j, field_id: str):
    """Open one filter of the drilldown; its input."""
    j.page.locator(f"button[aria-controls=drilldown-{field_id}]").click()
    return j.page.locator(f"#{field_id}")


def test_marketer_finds_subscribers(open_journey, make_user, lang, audience):
    from campaigns.audiences.models import Subscriber

    make_user("marketer", lang)
    j = open_journey("marketer", lang, "subscribers")
    j.login(f"marketer-{lang}")
    j.click_menu(j.t("Audiences"), menu_label(j, Subscriber))
    rows = j.page.locator("#listing-results table.listing tbody tr")
    expect(rows).to_have_count(5)
    j.step("subscribers")

    search = j.page.locator("#id_q")
    # A surname: the names that start with it, not 李王.
    search.fill("王")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("王")
    expect(j.page.locator("#listing-results")).not_to_contain_text("李王")
    j.step("search surname")
    # A Latin name, any case; then an address typed in capitals.
    search.fill("SMITH")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("alice.smith@example.com")
    search.fill("Bob@Example.COM")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("bob@example.com")
    search.fill("")
    expect(rows).to_have_count(5)

    # Filters (Wagtail's filter drilldown): the tag, then the list's subscribed members.
    j.page.get_by_role("button", name=j.t("Show filters")).click()
    tag = open_filter(j, "id_tag")
    tag.fill("VIP")
    tag.press("Tab")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("xiaoming@example.cn")
    j.step("filter tag")
    tag.fill("")
    tag.press("Tab")
    expect(rows).to_have_count(5)
    j.page.locator("#drilldown-id_tag button.w-drilldown__back").click()
    open_filter(j, "id_mailing_list").select_option(label="Weekly news")
    expect(rows).to_have_count(2)
    expect(j.page.locator("#listing-results")).not_to_contain_text("bob@example.com")
    j.step("filter list")
    j.page.keyboard.press("Escape")

    # The subscriber's page: the form, then the lists and tags.
    j.click_link("xiaoming@example.cn")
    lists = j.page.locator("[data-subscriber-lists]")
    expect(lists).to_contain_text("Weekly news")
    expect(lists).to_contain_text("vip")
    j.step("subscriber")
