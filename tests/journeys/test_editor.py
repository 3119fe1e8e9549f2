"""The editor's day: write a blog post in the page explorer, read its SEO analysis,
submit it for moderation. Clicks only, in English and in Chinese."""

import pytest
from playwright.sync_api import expect

from content.models import BlogPostPage

pytestmark = pytest.mark.django_db(transaction=True)

TITLE = "Five ways to plan a summer sale"
DRAFT_TITLE = "A post typed at a person's pace"


def test_editor_writes_a_post_and_submits_it_for_moderation(
    open_journey, make_user, demo_content, lang
):
    make_user("editor", lang)
    j = open_journey("editor", lang)
    j.login(f"editor-{lang}")

    # Pages > Campaign Hub > Blog, through the explorer in the sidebar.
    j.page.locator("#wagtail-sidebar").get_by_role("button", name=j.t("Pages", js=True)).click()
    explorer = j.page.get_by_role("dialog", name=j.t("Page explorer", js=True))
    explorer.get_by_role(
        "link", name=j.t("View child pages of '%(title)s'", js=True, title="Campaign Hub")
    ).click()
    explorer.get_by_role("link", name="Blog", exact=True).click()
    j.step("blog listing")

    j.click_link(j.t("Add child page"))
    j.click_link(j.t("blog post"), exact=False)
    j.fill_field(j.t("title"), TITLE, exact=False)
    j.step("new post")
    j.click_button(j.t("Save draft"))
    j.expect_message(j.t("Page '%(page_title)s' created.", page_title=TITLE))
    page = BlogPostPage.objects.get(title=TITLE)
    j.step("draft saved")

    # The SEO analysis of the saved draft, on the Promote tab.
    j.page.get_by_role("tab", name=j.t("Promote")).click()
    seo = j.page.locator(".seo-analysis")
    expect(seo).to_contain_text(j.t("SEO score:"))
    assert seo.get_attribute("data-seo-score").isdigit()
    score = seo.get_attribute("data-seo-score")
    j.step("seo panel")

    # The home page lists the draft with its SEO score (issue 16, point 8); the editor
    # goes back to it from there.
    j.page.locator("#wagtail-sidebar").get_by_role(
        "link", name=j.t("Dashboard", js=True)
    ).first.click()
    j.page.wait_for_load_state("load")
    j.expect_text(j.t("Your drafts"))
    draft = j.page.locator("[data-home-panel=drafts]").get_by_role("row").filter(has_text=TITLE)
    expect(draft).to_contain_text(score)
    j.step("home drafts")
    j.click_link(TITLE, within=draft)

    # Submit for moderation: the action menu's "more" toggle, then the workflow's submit.
    j.page.get_by_role("button", name=j.t("More actions")).click()
    j.click_button(j.t("Submit to %(workflow_name)s", workflow_name="Moderators approval"))
    j.expect_message(TITLE)
    j.step("submitted")

    page.refresh_from_db()
    assert not page.live
    assert page.workflow_in_progress
    # Exactly one page for one "add": no twin or orphan draft (issue 16, point 5).
    assert BlogPostPage.objects.filter(title=TITLE).count() == 1


def open_add_blog_post(j):
    j.page.locator("#wagtail-sidebar").get_by_role("button", name=j.t("Pages", js=True)).click()
    explorer = j.page.get_by_role("dialog", name=j.t("Page explorer", js=True))
    explorer.get_by_role(
        "link", name=j.t("View child pages of '%(title)s'", js=True, title="Campaign Hub")
    ).click()
    explorer.get_by_role("link", name="Blog", exact=True).click()
    j.click_link(j.t("Add child page"))
    j.click_link(j.t("blog post"), exact=False)


@pytest.mark.parametrize("speed", ["typing", "fast"])
def test_adding_a_page_leaves_no_twin_and_no_orphan_draft(
    open_journey, make_user, demo_content, speed
):
    """Issue 16, point 5: Wagtail's autosave (every 500 ms) racing the first save made
    twin drafts, and an abandoned "add page" form left one behind. Language plays no
    part here: English only."""
    make_user("editor", "en")
    j = open_journey("editor", "en", f"drafts-{speed}")
    j.login("editor-en")
    # Leaving a form with changes asks "leave this page?": the person says yes.
    j.page.on("dialog", lambda dialog: dialog.accept())

    open_add_blog_post(j)
    title = j.field(j.t("title"), exact=False)
    if speed == "typing":
        title.press_sequentially(DRAFT_TITLE, delay=60)
    else:
        title.fill(DRAFT_TITLE)
    title.press("Tab")
    j.page.wait_for_timeout(1500)  # long enough for autosave to have fired, if it does
    j.click_button(j.t("Save draft"))
    j.expect_message(j.t("Page '%(page_title)s' created.", page_title=DRAFT_TITLE))
    j.step("saved once")
    assert BlogPostPage.objects.filter(title=DRAFT_TITLE).count() == 1, "twin drafts"

    open_add_blog_post(j)
    j.field(j.t("title"), exact=False).press_sequentially("An idea I gave up", delay=30)
    j.page.wait_for_timeout(1500)
    j.step("abandoned form")
    j.page.locator("#wagtail-sidebar").get_by_role(
        "link", name=j.t("Dashboard", js=True)
    ).first.click()
    j.page.wait_for_load_state("load")
    j.step("left the form")
    assert not BlogPostPage.objects.filter(title="An idea I gave up").exists(), (
        "an abandoned add-page form left a draft behind"
    )
