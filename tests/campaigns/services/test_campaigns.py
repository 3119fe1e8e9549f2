"""Campaign actions: create, edit, and the approval workflow's state changes."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from campaigns import services
from campaigns.models import Campaign, Notification, Publication
from tests.factories import CampaignFactory, UserFactory

CS = Campaign.Status
S = Publication.Status
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("immediate_on_commit")]


def campaign_fields(**overrides):
    fields = {
        "name": "Spring",
        "slug": "spring",
        "start_date": datetime.date(2026, 5, 1),
        "end_date": datetime.date(2026, 6, 1),
    }
    fields.update(overrides)
    return fields


def test_create_campaign_makes_a_draft_owned_by_the_actor():
    marketer = UserFactory(username="mia")
    campaign = services.create_campaign(marketer, **campaign_fields())
    campaign.refresh_from_db()
    assert campaign.status == CS.DRAFT and campaign.owner == marketer


def test_create_campaign_refuses_bad_input_and_saves_nothing():
    marketer = UserFactory(username="mia")
    with pytest.raises(ValidationError, match="end date must not be before"):
        services.create_campaign(marketer, **campaign_fields(end_date=datetime.date(2026, 4, 1)))
    services.create_campaign(marketer, **campaign_fields())
    with pytest.raises(ValidationError):
        services.create_campaign(marketer, **campaign_fields(name="Again"))  # same slug
    assert Campaign.objects.count() == 1


def test_update_campaign_writes_only_the_edited_fields(approver):
    campaign = CampaignFactory(status=CS.AWAITING_APPROVAL)
    stale = Campaign.objects.get(pk=campaign.pk)
    services.approve_campaign(campaign, approver)  # meanwhile, in another request
    services.update_campaign(stale, None, name="Renamed", goal="More sign-ups")
    campaign.refresh_from_db()
    assert (campaign.name, campaign.goal) == ("Renamed", "More sign-ups")
    assert campaign.status == CS.APPROVED and campaign.approved_by == approver


def test_update_campaign_refuses_bad_dates_closed_campaigns_and_status(approver):
    campaign = CampaignFactory()
    with pytest.raises(ValidationError, match="end date"):
        services.update_campaign(campaign, None, end_date=campaign.start_date.replace(year=2000))
    with pytest.raises(ValueError, match="status"):
        services.update_campaign(campaign, None, status=CS.APPROVED)
    services.cancel_campaign(campaign)
    with pytest.raises(services.InvalidTransition, match="closed campaign"):
        services.update_campaign(campaign, None, name="Too late")
    campaign.refresh_from_db()
    assert campaign.status == CS.CANCELLED and campaign.name != "Too late"


def test_submit_approve_and_reject_follow_the_workflow(approver):
    campaign = CampaignFactory(status=CS.DRAFT)
    services.submit_campaign_for_approval(campaign, campaign.owner)
    assert campaign.status == CS.AWAITING_APPROVAL
    services.reject_campaign(campaign, approver, "needs a goal")
    assert campaign.status == CS.DRAFT
    note = Notification.objects.get(user=campaign.owner)
    assert "needs a goal" in note.message and note.level == Notification.Level.WARNING
    with pytest.raises(services.InvalidTransition):
        services.reject_campaign(campaign, approver)
    services.approve_campaign(campaign, approver)
    campaign.refresh_from_db()
    assert campaign.status == CS.APPROVED and campaign.approved_at is not None


def test_cancel_campaign_cancels_every_open_publication(make_pub, campaign):
    pubs = [make_pub(3600), make_pub(7200)]
    assert services.cancel_campaign(campaign) == 2
    assert {p.status for p in Publication.objects.filter(pk__in=[p.pk for p in pubs])} == {
        S.CANCELLED
    }


def test_progress_runs_then_finishes_after_the_end_date(make_pub, campaign, run_due):
    make_pub(-1)
    run_due()  # the first post went out
    campaign.refresh_from_db()
    assert campaign.status == CS.RUNNING
    services.update_campaign_progress(campaign.pk, today=campaign.end_date)
    campaign.refresh_from_db()
    assert campaign.status == CS.RUNNING  # the last day is still part of it
    after = campaign.end_date + datetime.timedelta(days=1)
    services.update_campaign_progress(campaign.pk, today=after)
    campaign.refresh_from_db()
    assert campaign.status == CS.FINISHED
