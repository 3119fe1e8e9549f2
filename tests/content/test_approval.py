"""Is a page's content approved? Live, or approved in the workflow for a later go-live;
with CAMPAIGNS_EDIT_REQUIRES_REAPPROVAL a newer unapproved edit takes that back."""

import datetime

import pytest
from django.utils import timezone

from content.approval import approved_revision, is_content_approved
from tests.factories import make_blog, make_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def blog(home_page):
    return make_blog(home_page)


def test_a_draft_page_has_nothing_approved(blog):
    page = make_post(blog, publish=False, title="Draft", slug="draft")
    assert approved_revision(page) is None
    assert not is_content_approved(page)


def test_a_live_page_is_approved_at_its_live_revision(blog):
    page = make_post(blog)
    assert approved_revision(page) == page.live_revision
    assert is_content_approved(page)


def test_an_approval_for_a_later_go_live_counts_before_the_page_is_live(blog):
    page = make_post(blog, publish=False, title="Later", slug="later")
    page.go_live_at = timezone.now() + datetime.timedelta(days=3)
    revision = page.save_revision()
    revision.publish()
    page.refresh_from_db()
    assert not page.live
    assert approved_revision(page) == revision
    assert is_content_approved(page)


def test_a_newer_unapproved_edit_needs_approval_again_unless_turned_off(blog, settings):
    page = make_post(blog)
    live = page.live_revision
    page.title = "Edited"
    page.save_revision()
    assert approved_revision(page) == live  # the approved one is still the live one
    assert not is_content_approved(page)
    settings.CAMPAIGNS_EDIT_REQUIRES_REAPPROVAL = False
    assert is_content_approved(page)
