"""Leadership's day: the dashboards, one campaign's dashboard, the overview. Read-only,
clicks only, in English and in Chinese."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True)


def test_leadership_reads_the_dashboards(open_journey, make_user, demo_analytics, lang):
    make_user("leadership", lang)
    j = open_journey("leadership", lang)
    j.login(f"leadership-{lang}")

    # The home page: running campaigns with their headline figures (issue 16, point 8),
    # each linking to its dashboard.
    running = j.page.locator("[data-home-panel=running-campaigns]")
    expect(running.get_by_role("row").filter(has_text="Winter sale 2026 冬季大促")).to_be_visible()
    j.expect_text(j.t("Running campaigns (last %(days)s days)", days=30))
    j.click_link("Winter sale 2026 冬季大促", within=running)
    # Every chart drew its points (over time, by channel, SEO trend, conversions; ECharts
    # canvases drawn in this browser).
    expect(j.page.locator("[data-charts-rendered='4']")).to_have_count(1)
    for chart in j.page.locator("[data-chart-points]").all():
        assert int(chart.get_attribute("data-chart-points")) > 0
    j.step("campaign dashboard")

    j.click_menu(j.t("Dashboards"))
    expect(j.page.get_by_role("link", name="Winter sale 2026 冬季大促")).to_be_visible()
    j.step("dashboards")
    j.click_link(j.t("Leadership overview"))
    expect(j.page.get_by_text("Winter sale 2026 冬季大促").first).to_be_visible()
    j.step("overview")

    # Read-only: nothing on these screens offers to change a campaign.
    for label in ("Add campaign", "Edit", "Approve"):
        expect(j.page.get_by_role("link", name=j.t(label), exact=True)).to_have_count(0)
        expect(j.page.get_by_role("button", name=re.compile(f"^{j.t(label)}$"))).to_have_count(0)
