"""The moderator's day: find the page waiting for review on the admin home, approve it.
Clicks only, in English and in Chinese."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect
from wagtail.models import Page, Workflow

from content.approval import is_content_approved
from content.models import BlogIndexPage, BlogPostPage
from tests.factories import CampaignFactory, ChannelAccountFactory, PublicationFactory, add_child

pytestmark = pytest.mark.django_db(transaction=True)

TITLE = "Five ways to plan a summer sale"


@pytest.fixture
def slot():
    """When the campaign puts the post on this hub: the day after tomorrow."""
    return (timezone.now() + datetime.timedelta(days=2)).replace(second=0, microsecond=0)


@pytest.fixture
def submitted_post(demo_content, make_user, slot):
    """A draft a campaign will publish on this hub at `slot`, which an editor submitted
    to the default moderation workflow, as the editor's journey leaves it (Wagtail's own
    workflow start, no shortcut)."""
    editor = make_user("editor", "en", username="editor-dana")
    blog = BlogIndexPage.objects.get(slug="blog")
    post = add_child(blog, BlogPostPage(title=TITLE, slug="summer-sale"), publish=False)
    today = timezone.localdate()
    campaign = CampaignFactory(
        name="Summer sale 2026",
        start_date=today,
        end_date=today + datetime.timedelta(days=30),
    )
    hub = ChannelAccountFactory(kind="blog/wagtail_site", name="Campaign Hub blog")
    PublicationFactory(campaign=campaign, page=post, channel_account=hub, publish_at=slot)
    workflow = Workflow.objects.get(name="Moderators approval")
    workflow.start(post, editor)
    return post


def slot_approval_label(j) -> re.Pattern:
    """The approve action that names the slot ("... (live <when>)"), whatever the date."""
    text = j.t("Approve for its campaign slot (live %(when)s)")
    return re.compile("^" + re.escape(text).replace(re.escape("%(when)s"), ".+") + "$")


def test_moderator_finds_the_waiting_page_and_approves_it_for_its_slot(
    open_journey, make_user, submitted_post, slot, lang
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
    # slot publishes it. No "Approve and Publish" is offered.
    j.page.get_by_role("button", name=j.t("More actions")).click()
    approve = j.page.get_by_role("button", name=slot_approval_label(j))
    expect(approve).to_be_visible()
    j.step("approve offered")
    approve.click()
    j.expect_message(TITLE)
    j.step("approved")

    post = Page.objects.get(pk=submitted_post.pk).specific
    assert not post.workflow_in_progress
    assert is_content_approved(post)
    assert not post.live, "approving content put it live before its campaign slot"
    assert post.get_latest_revision().approved_go_live_at == slot
