"""Editing approved content after scheduling sends it back for approval."""

import datetime

import pytest
from django.utils import timezone

from campaigns import services
from campaigns.models import Notification, Publication

pytestmark = pytest.mark.django_db(transaction=True)
S = Publication.Status


def test_edit_after_scheduling_holds_and_reapproval_reschedules(make_pub, post, campaign):
    pub = make_pub(3600)
    post.title = "Spring sale guide (edited)"
    post.save_revision()  # a draft edit, not approved
    pub.refresh_from_db()
    assert pub.status == S.DRAFT and pub.held_for_reapproval
    assert "edited after scheduling" in pub.events.last().reason
    assert Notification.objects.filter(user=campaign.owner, publication=pub).exists()
    # Not claimable while held.
    later = timezone.now() + datetime.timedelta(hours=2)
    assert services.claim_due_publications(now=later, enqueue=lambda ids: None) == []

    post.get_latest_revision().publish()  # approved again
    pub.refresh_from_db()
    assert pub.status == S.SCHEDULED and not pub.held_for_reapproval
    assert pub.due_at == pub.publish_at


def test_reapproval_setting_off_keeps_schedule(make_pub, post, settings):
    settings.CAMPAIGNS_EDIT_REQUIRES_REAPPROVAL = False
    pub = make_pub(3600)
    post.title = "edited"
    post.save_revision()
    pub.refresh_from_db()
    assert pub.status == S.SCHEDULED


def test_unpublishing_content_holds_its_publications(make_pub, post):
    pub = make_pub(3600)
    post.unpublish()
    pub.refresh_from_db()
    assert pub.status == S.DRAFT and pub.held_for_reapproval
