"""A marketer connects Baidu Tongji by clicking (Settings > Analytics connections), tests
the connection, imports, and reads the search words on a campaign's SEO section; the
page's SEO hints read in the marketer's language. Against a loopback server speaking
Tongji's documented API (tests.analytics.search_fakes)."""

import datetime

import pytest
from playwright.sync_api import expect

from tests.analytics.search_fakes import FakeTongji
from tests.channels.loopback import LoopbackServer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def tongji():
    service = FakeTongji()
    yesterday = (datetime.date.today() - datetime.timedelta(days=1)).strftime("%Y%m%d")
    service.words = {yesterday: [("春季促销攻略", 30, 12)]}
    with LoopbackServer(service) as server:
        yield server


def test_marketer_connects_baidu_tongji(open_journey, make_user, demo_analytics, lang, tongji):
    make_user("marketer", lang)
    j = open_journey("marketer", lang, "search")
    j.login(f"marketer-{lang}")

    j.click_menu(j.t("Settings", js=True), j.t("Analytics connections"))
    j.click_link(j.t("Add %(model_name)s", model_name=j.t("analytics connection")), exact=False)
    j.fill_field(j.label("name"), "Tongji")
    j.choose(j.label("service"), j.t("Baidu Tongji"))
    j.fill_field(j.label("site"), "16800000")
    j.fill_field(j.label("days imported each time"), "2")
    j.fill_field(j.label("API address"), tongji.url)
    j.fill_field(j.label("token address"), f"{tongji.url}/oauth/2.0/token")
    j.field(j.label("internal network")).check()
    j.fill_field(j.t("access token (Baidu)"), "121.a", exact=False)
    j.step("new connection")
    j.click_button(j.t("Create"))
    j.click_link("Tongji")

    j.click_button(j.t("Test connection"))
    j.expect_message("16800000")
    j.click_button(j.t("Import now"))
    j.expect_message(
        j.tn("Imported %(n)d row of search queries.", "Imported %(n)d rows of search queries.", 1)
    )
    j.step("imported")

    j.click_menu(j.t("Dashboards"))
    j.click_link("Winter sale 2026 冬季大促")  # the demo's running campaign
    section = j.page.locator("[data-seo-section]")
    expect(section.locator("[data-site-words]")).to_contain_text("春季促销攻略")
    expect(section.get_by_role("columnheader", name=j.t("Top hints"))).to_be_visible()
    section.scroll_into_view_if_needed()
    j.step("seo section")
