"""The moderator's day: find the page waiting for review on the admin home, approve it.
Clicks only, in English and in Chinese."""

import pytest
from playwright.sync_api import expect
from wagtail.models import Page, Workflow

from content.approval import is_content_approved
from content.models import BlogIndexPage, BlogPostPage
from tests.factories import add_child

pytestmark = pytest.mark.django_db(transaction=True)

TITLE = "Five ways to plan a summer sale"


@pytest.fixture
def submitted_post(demo_content, make_user):
    """A draft an editor submitted to the default moderation workflow, as the editor's
    journey leaves it (Wagtail's own workflow start, no shortcut)."""
    editor = make_user("editor", "en", username="editor-dana")
    blog = BlogIndexPage.objects.get(slug="blog")
    post = add_child(blog, BlogPostPage(title=TITLE, slug="summer-sale"), publish=False)
    workflow = Workflow.objects.get(name="Moderators approval")
    workflow.start(post, editor)
    return post


def test_moderator_finds_the_waiting_page_and_approves_it(
    open_journey, make_user, submitted_post, lang
):
    make_user("moderator", lang)
    j = open_journey("moderator", lang)
    j.login(f"moderator-{lang}")

    # The home page lists what awaits this moderator's review.
    waiting = (
        j.page.locator("section, .w-panel, .panel")
        .filter(has_text=j.t("Awaiting your review"))
        .first
    )
    expect(waiting).to_contain_text(TITLE)
    waiting.get_by_role("link", name=TITLE).first.click()
    j.step("page awaiting review")

    # Approve the content without putting it live (issue 16, point 5): the campaign's
    # slot publishes it. Today the only choice is "Approve and Publish".
    j.page.get_by_role("button", name=j.t("More actions")).click()
    approve = j.page.get_by_role("button", name=j.t("Approve"), exact=True)
    expect(approve).to_be_visible()
    j.step("approve offered")
    approve.click()
    j.expect_message(TITLE)
    j.step("approved")

    post = Page.objects.get(pk=submitted_post.pk).specific
    assert not post.workflow_in_progress
    assert is_content_approved(post)
    assert not post.live, "approving content put it live before its campaign slot"
