"""A marketer opens the customer record by clicking, in English and Chinese: People in
the menu, a search by phone number, the person's page with their timeline, a note, and
marking them a key account (then seen on the home page). No console errors."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def wang(journey_server):
    from campaigns.audiences.models import Subscriber

    Subscriber.objects.create(email="li@example.com", name="李雷", attributes={"phone": "010 5555"})
    return Subscriber.objects.create(
        email="wang.fang@example.cn",
        name="王芳",
        attributes={"phone": "+86 138-0013-8000", "company": "上海星光贸易"},
    )


def test_marketer_finds_a_person_notes_and_marks_key_account(open_journey, make_user, lang, wang):
    make_user("marketer", lang)
    j = open_journey("marketer", lang, "people")
    j.login(f"marketer-{lang}")
    j.click_menu(j.t("People"))
    j.field(j.t("Search by email, name, phone or company")).fill("13800138000")
    j.click_button(j.t("Search"))
    results = j.page.locator("[data-people-results] tbody tr")
    expect(results).to_have_count(1)
    j.step("search by phone")
    j.click_link("wang.fang@example.cn", within=results)
    expect(j.page.locator("[data-person-phone]")).to_contain_text("138-0013-8000")
    expect(j.page.locator("[data-timeline] li").first).to_be_visible()
    j.step("person page")

    j.fill_field(j.t("Note"), "客户要求下周回电 / call back next week")
    j.click_button(j.t("Add note"))
    j.expect_message(j.t("Note added."))
    expect(j.page.locator("[data-timeline] li").first).to_contain_text("客户要求下周回电")
    j.step("note added")

    j.click_button(j.t("Mark as key account"))
    j.expect_message(j.t("Marked as a key account."))
    expect(j.page.locator("[data-key-account]")).to_contain_text(f"marketer-{lang}")
    j.step("key account")
    j.page.locator("#wagtail-sidebar").get_by_role(
        "link", name=j.t("Dashboard", js=True)
    ).first.click()
    panel = j.page.locator('[data-home-panel="key-accounts"]')
    expect(panel).to_contain_text("王芳")
    j.step("home panel")
