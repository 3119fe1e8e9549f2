"""Actions on one publication: reschedule, pause, cancel, save from the form,
unschedule, publish now, record a public URL."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from campaigns import services
from campaigns.models import Campaign, Publication, PublicationEvent
from tests.factories import CampaignFactory, PublicationFactory, UserFactory, make_post

S = Publication.Status
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("immediate_on_commit")]


def test_paused_or_cancelled_queued_row_is_not_published(run_due, make_pub, fake_channel):
    a, b = make_pub(-2), make_pub(-1)
    services.claim_due_publications(enqueue=lambda ids: None)
    services.pause_publication(a)
    services.cancel_publication(b)
    assert services.publish_publication(a.pk) == "skipped"
    assert services.publish_publication(b.pk) == "skipped"
    assert fake_channel.posts(a) == fake_channel.posts(b) == 0
    services.resume_publication(a)
    assert run_due(now=timezone.now() + datetime.timedelta(seconds=1)) == {a.pk: "published"}


def test_reschedule_moves_due_time_and_queued_message_becomes_noop(run_due, make_pub, fake_channel):
    pub = make_pub(-1)
    services.claim_due_publications(enqueue=lambda ids: None)
    new_time = timezone.now() + datetime.timedelta(days=2)
    services.reschedule_publication(pub, new_time)
    assert services.publish_publication(pub.pk) == "skipped"
    pub.refresh_from_db()
    assert pub.status == S.SCHEDULED and pub.due_at == new_time
    assert run_due(now=new_time) == {pub.pk: "published"}


def test_bulk_reschedule_reports_each_failure(make_pub):
    a, b = make_pub(3600), make_pub(7200)
    services.cancel_publication(b)
    done, errors = services.bulk_reschedule_publications(
        Publication.objects.filter(pk__in=[a.pk, b.pk]), shift=datetime.timedelta(days=1)
    )
    assert [p.pk for p in done] == [a.pk]
    assert "cannot be rescheduled" in errors[b.pk][0]


# --- Saving from the form ------------------------------------------------------------


def test_save_publication_creates_and_schedules_with_the_editor_as_creator(
    campaign, post, fake_account
):
    editor = UserFactory(username="editor")
    when = timezone.now() + datetime.timedelta(days=1)
    pub = Publication(campaign=campaign, page=post, channel_account=fake_account)
    services.save_publication(pub, editor, schedule=True, publish_at=when)
    pub.refresh_from_db()
    assert pub.pk and pub.created_by == editor
    assert pub.status == S.SCHEDULED and pub.due_at == when
    event = pub.events.last()
    assert (event.from_status, event.to_status, event.actor) == (S.DRAFT, S.SCHEDULED, editor)


def test_save_publication_refused_schedule_saves_nothing(campaign, blog, fake_account):
    draft = make_post(blog, publish=False, title="Not yet", slug="not-yet")
    pub = Publication(
        campaign=campaign, page=draft, channel_account=fake_account, title_override="Keep"
    )
    with pytest.raises(ValidationError, match="not approved"):
        services.save_publication(
            pub, None, schedule=True, publish_at=timezone.now() + datetime.timedelta(days=1)
        )
    assert not Publication.objects.filter(title_override="Keep").exists()


def test_save_publication_moves_a_scheduled_one_only_through_a_logged_reschedule(make_pub):
    pub = make_pub(3600)
    new_time = pub.publish_at + datetime.timedelta(days=1)
    pub.title_override = "Edited"
    pub.publish_at = new_time
    services.save_publication(pub, None, schedule=True, publish_at=new_time)
    pub.refresh_from_db()
    assert pub.title_override == "Edited"
    assert pub.status == S.SCHEDULED and pub.publish_at == pub.due_at == new_time
    assert "Rescheduled from" in pub.events.last().reason


def test_save_publication_without_schedule_unschedules_and_keeps_the_stored_time(
    make_pub, campaign
):
    pub = make_pub(3600)
    stored_time = pub.publish_at
    pub.publish_at = stored_time + datetime.timedelta(days=3)  # ignored: not scheduling
    services.save_publication(pub, campaign.owner, schedule=False)
    pub.refresh_from_db()
    assert pub.status == S.DRAFT and pub.due_at is None
    assert pub.publish_at == stored_time
    event = pub.events.last()
    assert (event.to_status, event.actor, event.reason) == (S.DRAFT, campaign.owner, "Unscheduled.")


def test_save_publication_keeps_a_draft_a_draft(campaign, post, fake_account):
    pub = PublicationFactory(campaign=campaign, page=post, channel_account=fake_account)
    pub.title_override = "Still a draft"
    services.save_publication(pub, None, schedule=False)
    pub.refresh_from_db()
    assert pub.status == S.DRAFT and pub.title_override == "Still a draft"
    assert not pub.events.exists()


# --- Unschedule ----------------------------------------------------------------------


def test_unschedule_sends_a_scheduled_publication_back_to_draft(make_pub, campaign, run_due):
    pub = make_pub(-1)
    services.unschedule_publication(pub, campaign.owner)
    assert pub.status == S.DRAFT and pub.due_at is None  # the caller's instance is updated
    assert run_due() == {}
    event = pub.events.last()
    assert (event.from_status, event.to_status, event.actor) == (
        S.SCHEDULED,
        S.DRAFT,
        campaign.owner,
    )


def test_unschedule_refuses_a_published_publication(make_pub, run_due):
    pub = make_pub(-1)
    run_due()
    with pytest.raises(services.InvalidTransition):
        services.unschedule_publication(pub)
    pub.refresh_from_db()
    assert pub.status == S.PUBLISHED


# --- Publish now ---------------------------------------------------------------------


def test_publish_now_makes_a_draft_due_at_once(campaign, post, fake_account, fake_channel, run_due):
    pub = PublicationFactory(campaign=campaign, page=post, channel_account=fake_account)
    now = timezone.now()
    services.publish_publication_now(pub, campaign.owner, now=now)
    assert pub.status == S.SCHEDULED and pub.publish_at == pub.due_at == now
    assert pub.events.last().actor == campaign.owner
    assert run_due(now=now) == {pub.pk: "published"}
    assert fake_channel.posts(pub) == 1


def test_publish_now_brings_a_scheduled_one_forward(make_pub, run_due):
    pub = make_pub(86400)
    services.publish_publication_now(pub)
    assert run_due() == {pub.pk: "published"}


def test_publish_now_checks_like_scheduling_except_the_time(post, fake_account):
    campaign = CampaignFactory(status=Campaign.Status.DRAFT)
    pub = PublicationFactory(campaign=campaign, page=post, channel_account=fake_account)
    with pytest.raises(ValidationError, match="is not approved") as info:
        services.publish_publication_now(pub)
    assert "in the past" not in " ".join(info.value.messages)
    pub.refresh_from_db()
    assert pub.status == S.DRAFT and pub.due_at is None


def test_publish_now_refuses_published_and_recurring_publications(
    make_pub, campaign, post, fake_account, run_due
):
    published = make_pub(-1)
    run_due()
    with pytest.raises(services.InvalidTransition, match="cannot be published now"):
        services.publish_publication_now(published)
    recurring = PublicationFactory(
        campaign=campaign, page=post, channel_account=fake_account, recurrence="FREQ=WEEKLY"
    )
    with pytest.raises(ValidationError, match="recurring"):
        services.publish_publication_now(recurring)
    recurring.refresh_from_db()
    assert recurring.status == S.DRAFT


# --- Public URL ----------------------------------------------------------------------


def test_record_public_url_writes_an_audit_log_entry_and_keeps_the_status(
    make_pub, campaign, run_due
):
    pub = make_pub(-1)
    run_due()
    pub.refresh_from_db()
    old_url = pub.public_url
    services.record_public_url(pub, "https://example.org/posts/1", campaign.owner)
    pub.refresh_from_db()
    assert pub.public_url == "https://example.org/posts/1"
    assert pub.status == S.PUBLISHED
    event = PublicationEvent.objects.filter(publication=pub).last()
    assert (event.from_status, event.to_status, event.actor) == (
        S.PUBLISHED, S.PUBLISHED, campaign.owner,
    )  # fmt: skip
    assert "https://example.org/posts/1" in event.reason
    assert event.details == {
        "public_url": "https://example.org/posts/1",
        "previous_public_url": old_url,
    }


def test_save_publication_refuses_a_copy_the_pipeline_has_moved_on(make_pub, run_due):
    """The editor opened the form while it was scheduled; it was published meanwhile.
    Saving the stale copy must not turn it back into a scheduled row (a second post)."""
    pub = make_pub(-1)
    stale = Publication.objects.get(pk=pub.pk)
    assert run_due() == {pub.pk: "published"}
    stale.title_override = "Edited too late"
    later = timezone.now() + datetime.timedelta(hours=2)
    with pytest.raises(ValidationError, match="changed while you edited it"):
        services.save_publication(stale, None, schedule=True, publish_at=later)
    pub.refresh_from_db()
    assert pub.status == S.PUBLISHED and pub.external_id and pub.title_override == ""


def test_save_publication_writes_only_the_editors_fields(make_pub):
    pub = make_pub(3600)
    copy = Publication.objects.get(pk=pub.pk)
    Publication.objects.filter(pk=pub.pk).update(last_error="seen by the pipeline")
    copy.tags = "spring"
    services.save_publication(copy, None, schedule=True, publish_at=copy.publish_at)
    pub.refresh_from_db()
    assert pub.tags == "spring" and pub.last_error == "seen by the pipeline"
