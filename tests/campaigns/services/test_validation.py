"""Bad input is refused with a clear message and changes nothing."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from campaigns import services
from campaigns.models import Campaign, Publication
from tests.factories import CampaignFactory, ChannelAccountFactory, PublicationFactory, make_post

pytestmark = pytest.mark.django_db
S = Publication.Status


def refused(pub, when, *fragments):
    with pytest.raises(ValidationError) as info:
        services.schedule_publication(pub, when)
    text = " ".join(info.value.messages)
    for fragment in fragments:
        assert fragment in text, text
    pub.refresh_from_db()
    assert pub.status == S.DRAFT and pub.due_at is None
    return text


def test_publish_time_in_the_past(campaign, post, fake_account):
    pub = PublicationFactory(campaign=campaign, page=post, channel_account=fake_account)
    refused(pub, timezone.now() - datetime.timedelta(minutes=5), "is in the past")


def test_naive_publish_time(campaign, post, fake_account):
    pub = PublicationFactory(campaign=campaign, page=post, channel_account=fake_account)
    refused(pub, datetime.datetime(2099, 1, 1, 9), "time zone")


def test_end_before_start():
    campaign = Campaign(
        name="x", slug="x", start_date=datetime.date(2026, 5, 2), end_date=datetime.date(2026, 5, 1)
    )
    with pytest.raises(ValidationError) as info:
        campaign.clean()
    assert "end date must not be before the start date" in str(info.value)
    with pytest.raises(ValidationError, match="end date"):
        services.validate_campaign_dates(campaign.start_date, campaign.end_date)


def test_content_not_approved(campaign, blog, fake_account):
    draft = make_post(blog, publish=False, title="Draft only", slug="draft-only")
    pub = PublicationFactory(campaign=campaign, page=draft, channel_account=fake_account)
    refused(pub, timezone.now() + datetime.timedelta(days=1), "“Draft only” is not approved")


def test_unknown_channel_kind(campaign, post):
    account = ChannelAccountFactory(kind="blog/myspace", name="Old blog")
    pub = PublicationFactory(campaign=campaign, page=post, channel_account=account)
    refused(pub, timezone.now() + datetime.timedelta(days=1), "Unknown channel kind “blog/myspace”")


def test_campaign_not_approved(post, fake_account):
    campaign = CampaignFactory(status=Campaign.Status.DRAFT)
    pub = PublicationFactory(campaign=campaign, page=post, channel_account=fake_account)
    refused(pub, timezone.now() + datetime.timedelta(days=1), "is not approved")


def test_outside_campaign_dates(post, fake_account, approver):
    today = timezone.localdate()
    campaign = CampaignFactory(
        status=Campaign.Status.AWAITING_APPROVAL,
        start_date=today,
        end_date=today + datetime.timedelta(days=3),
    )
    services.approve_campaign(campaign, approver)
    pub = PublicationFactory(campaign=campaign, page=post, channel_account=fake_account)
    refused(pub, timezone.now() + datetime.timedelta(days=30), "outside the campaign")


def test_all_reasons_reported_at_once(post):
    campaign = CampaignFactory(status=Campaign.Status.DRAFT)
    account = ChannelAccountFactory(kind="nope/nope")
    pub = PublicationFactory(campaign=campaign, page=post, channel_account=account)
    refused(
        pub,
        timezone.now() - datetime.timedelta(days=1),
        "in the past",
        "not approved",
        "Unknown channel kind",
    )


def test_only_approvers_approve(campaign, post):
    draft = CampaignFactory(status=Campaign.Status.AWAITING_APPROVAL)
    with pytest.raises(PermissionDenied):
        services.approve_campaign(draft, draft.owner)
    draft.refresh_from_db()
    assert draft.status == Campaign.Status.AWAITING_APPROVAL


def test_bad_time_zone_on_publication(campaign, post, fake_account):
    pub = PublicationFactory(
        campaign=campaign, page=post, channel_account=fake_account, timezone="Moon/Base"
    )
    refused(pub, timezone.now() + datetime.timedelta(days=1), "not a known time zone")


def test_bad_recurrence_rule_is_refused(campaign, post, fake_account):
    pub = PublicationFactory(
        campaign=campaign, page=post, channel_account=fake_account, recurrence="FREQ=SECONDLY"
    )
    refused(pub, timezone.now() + datetime.timedelta(days=1), "more frequent than hourly")
