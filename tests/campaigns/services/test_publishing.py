"""The publish pipeline through the services: idempotency, unknown outcomes, retries,
pause/cancel while running. Runs on SQLite and PostgreSQL (no concurrency here; see
test_concurrency_pg.py for that)."""

import datetime
import logging

import pytest
from django.core import mail
from django.utils import timezone

from campaigns import services
from campaigns.models import Campaign, Notification, Publication, PublicationEvent
from campaigns.signals import publication_published

S = Publication.Status
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("immediate_on_commit")]


def test_publishes_once_even_if_task_delivered_twice(run_due, make_pub, fake_channel):
    pub = make_pub(-1)
    assert run_due() == {pub.pk: "published"}
    # The same message delivered again (redelivery after a lost ack):
    assert services.publish_publication(pub.pk) == "skipped"
    pub.refresh_from_db()
    assert pub.status == S.PUBLISHED
    assert fake_channel.posts(pub) == 1
    assert pub.public_url.startswith("https://fake.example/")
    attempts = PublicationEvent.objects.filter(publication=pub, is_attempt=True)
    assert attempts.count() == 1


def test_attempt_record_written_before_external_call(run_due, make_pub, fake_channel):
    make_pub(-1)
    seen = {}

    def during(p):
        row = Publication.objects.get(pk=p.pk)
        seen["status"] = row.status
        seen["attempt_logged"] = PublicationEvent.objects.filter(
            publication=p, is_attempt=True
        ).exists()

    fake_channel.DURING_PUBLISH = during
    run_due()
    assert seen == {"status": S.PUBLISHING, "attempt_logged": True}


@pytest.mark.parametrize("mode", ["post_then_timeout", "post_then_time_limit"])
def test_unknown_outcome_is_looked_up_and_never_reposted(
    run_due, make_pub, fake_channel, fake_account, mode
):
    fake_account.settings = {"mode": mode}
    fake_account.save()
    pub = make_pub(-1)
    assert run_due() == {pub.pk: "unknown"}
    pub.refresh_from_db()
    assert pub.status == S.UNKNOWN and pub.needs_lookup
    assert fake_channel.posts(pub) == 1
    # Due again after the backoff; the next attempt finds the post instead of re-posting.
    fake_account.settings = {"mode": "ok"}
    fake_account.save()
    later = timezone.now() + datetime.timedelta(hours=1)
    assert run_due(now=later) == {pub.pk: "found"}
    pub.refresh_from_db()
    assert pub.status == S.PUBLISHED
    assert fake_channel.posts(pub) == 1
    assert fake_channel.lookups(pub) == 1
    assert fake_channel.calls(pub) == 1  # publish() was not called a second time


def test_unknown_outcome_without_lookup_waits_for_a_person(
    run_due, make_pub, fake_channel, fake_account
):
    fake_account.settings = {"mode": "no_lookup"}
    fake_account.save()
    pub = make_pub(-1)
    run_due()
    run_due(now=timezone.now() + datetime.timedelta(hours=1))
    pub.refresh_from_db()
    assert pub.status == S.UNKNOWN and pub.due_at is None
    assert fake_channel.posts(pub) == 1
    assert Notification.objects.filter(user=pub.campaign.owner, publication=pub).exists()
    # Nothing more happens on its own.
    assert run_due(now=timezone.now() + datetime.timedelta(days=1)) == {}
    assert fake_channel.posts(pub) == 1


def test_already_published_answer_is_looked_up_and_recorded_as_found(
    run_due, make_pub, fake_channel, fake_account
):
    fake_account.settings = {"mode": "already_published"}
    fake_account.save()
    pub = make_pub(-1)
    fake_channel.STORE.incr(f"posts:{pub.idempotency_key}")  # an earlier attempt's post
    assert run_due() == {pub.pk: "found"}
    pub.refresh_from_db()
    assert pub.status == S.PUBLISHED and not pub.needs_lookup
    assert pub.external_id == f"fake-{pub.idempotency_key}"
    assert fake_channel.lookups(pub) == 1 and fake_channel.posts(pub) == 1


def test_already_published_but_not_found_yet_stays_unknown_never_failed(
    run_due, make_pub, fake_channel, fake_account
):
    fake_account.settings = {"mode": "already_published"}
    fake_account.save()
    pub = make_pub(-1)
    assert run_due() == {pub.pk: "unknown"}
    pub.refresh_from_db()
    assert pub.status == S.UNKNOWN and pub.needs_lookup and pub.due_at is not None
    assert "already been taken" in pub.last_error
    # The channel's search catches up: the next attempt looks first and finds it.
    fake_channel.STORE.incr(f"posts:{pub.idempotency_key}")
    assert run_due(now=timezone.now() + datetime.timedelta(hours=1)) == {pub.pk: "found"}
    pub.refresh_from_db()
    assert pub.status == S.PUBLISHED
    assert fake_channel.calls(pub) == 1  # publish() was not called again


def test_permanent_error_fails_at_once_and_notifies_owner(
    run_due, make_pub, fake_channel, fake_account
):
    fake_account.settings = {"mode": "permanent"}
    fake_account.save()
    pub = make_pub(-1)
    assert run_due() == {pub.pk: "failed"}
    pub.refresh_from_db()
    assert pub.status == S.FAILED
    assert pub.attempt_count == 1 and pub.due_at is None
    assert "bad credentials" in pub.last_error
    assert run_due(now=timezone.now() + datetime.timedelta(days=1)) == {}
    note = Notification.objects.get(user=pub.campaign.owner, publication=pub)
    assert note.level == Notification.Level.ERROR and "bad credentials" in note.message
    # The owner's other email is the notice of the campaign's approval (the fixture).
    (failure,) = [m for m in mail.outbox if "bad credentials" in m.body]
    assert failure.to == [pub.campaign.owner.email]


def test_transient_errors_retry_with_backoff_then_succeed(
    run_due, make_pub, fake_channel, fake_account, settings
):
    settings.CAMPAIGNS_RETRY_BASE_SECONDS = 30
    fake_account.settings = {"mode": "transient", "fail_times": 3}
    fake_account.save()
    pub = make_pub(-1)
    now = timezone.now()
    delays = []
    for _ in range(3):
        assert set(run_due(now=now).values()) == {"retry"}
        pub.refresh_from_db()
        assert pub.status == S.SCHEDULED
        delays.append((pub.due_at - timezone.now()).total_seconds())
        # Not due yet a moment before the backoff ends.
        assert run_due(now=pub.due_at - datetime.timedelta(seconds=1)) == {}
        now = pub.due_at
    assert [round(d / 10) * 10 for d in delays] == [30, 60, 120]
    assert run_due(now=now) == {pub.pk: "published"}
    pub.refresh_from_db()
    assert pub.status == S.PUBLISHED and pub.attempt_count == 4
    assert fake_channel.posts(pub) == 1


def test_transient_errors_give_up_after_max_attempts(run_due, make_pub, fake_account, settings):
    settings.CAMPAIGNS_PUBLISH_MAX_ATTEMPTS = 3
    fake_account.settings = {"mode": "transient", "fail_times": 99}
    fake_account.save()
    pub = make_pub(-1)
    now = timezone.now()
    for _ in range(3):
        run_due(now=now)
        pub.refresh_from_db()
        now = (pub.due_at or now) + datetime.timedelta(seconds=1)
    assert pub.status == S.FAILED and pub.attempt_count == 3


def test_pause_during_attempt_stops_further_work_and_resume_continues(
    run_due, make_pub, fake_channel, campaign
):
    pubs = [make_pub(-10 + i) for i in range(3)]
    first = pubs[0]

    def pause_mid_flight(p):
        if p.pk == first.pk:
            services.pause_campaign(campaign)

    fake_channel.DURING_PUBLISH = pause_mid_flight
    services.claim_due_publications(enqueue=lambda ids: None)
    # Worker picks up the first; the campaign is paused while it is being sent.
    assert services.publish_publication(first.pk) == "published"
    # The other two were queued; their messages are now no-ops.
    assert [services.publish_publication(p.pk) for p in pubs[1:]] == ["skipped", "skipped"]
    for p in pubs:
        p.refresh_from_db()
    assert [p.status for p in pubs] == [S.PUBLISHED, S.PAUSED, S.PAUSED]
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.PAUSED
    assert run_due(now=timezone.now() + datetime.timedelta(hours=1)) == {}

    fake_channel.DURING_PUBLISH = None
    services.resume_campaign(campaign)
    results = run_due(now=timezone.now() + datetime.timedelta(seconds=1))
    assert sorted(results.values()) == ["published", "published"]
    for p in pubs:
        p.refresh_from_db()
        assert p.status == S.PUBLISHED
        assert fake_channel.posts(p) == 1


def test_cancel_during_failing_attempt_cancels_instead_of_retrying(
    run_due, make_pub, fake_channel, fake_account
):
    fake_account.settings = {"mode": "transient", "fail_times": 5}
    fake_account.save()
    pub = make_pub(-1)
    fake_channel.DURING_PUBLISH = lambda p: services.cancel_publication(
        Publication.objects.get(pk=p.pk)
    )
    run_due()
    pub.refresh_from_db()
    assert pub.status == S.CANCELLED
    assert run_due(now=timezone.now() + datetime.timedelta(days=1)) == {}
    assert fake_channel.posts(pub) == 0


def test_cancel_arriving_too_late_still_records_the_post(run_due, make_pub, fake_channel):
    pub = make_pub(-1)
    fake_channel.DURING_PUBLISH = lambda p: services.cancel_publication(
        Publication.objects.get(pk=p.pk)
    )
    run_due()
    pub.refresh_from_db()
    assert pub.status == S.PUBLISHED
    assert "too late" in pub.events.last().reason


@pytest.fixture
def published_signals():
    """(publication id, status when sent, published_at) for each publication_published."""
    seen = []

    def listener(sender, publication, published_at, **kwargs):
        seen.append((publication.pk, publication.status, published_at))

    publication_published.connect(listener)
    yield seen
    publication_published.disconnect(listener)


def test_a_recorded_post_is_announced_once_with_its_time(
    run_due, make_pub, fake_channel, fake_account, published_signals
):
    pub = make_pub(-1)
    run_due()
    pub.refresh_from_db()
    assert published_signals == [(pub.pk, S.PUBLISHED, pub.published_at)]
    assert services.publish_publication(pub.pk) == "skipped"  # redelivered: no second one
    fake_account.settings = {"mode": "permanent"}
    fake_account.save()
    failed = make_pub(-1)
    run_due()
    failed.refresh_from_db()
    assert failed.status == S.FAILED
    assert [pk for pk, _s, _t in published_signals] == [pub.pk]  # a failure is not announced


def test_a_failing_follow_up_never_undoes_the_post(run_due, make_pub, fake_channel, caplog):
    def broken(sender, publication, **kwargs):
        raise RuntimeError("follow-up exploded")

    publication_published.connect(broken)
    try:
        pub = make_pub(-1)
        with caplog.at_level(logging.ERROR, logger="campaigns.services.publishing"):
            assert run_due() == {pub.pk: "published"}
    finally:
        publication_published.disconnect(broken)
    pub.refresh_from_db()
    assert pub.status == S.PUBLISHED and fake_channel.posts(pub) == 1
    assert any("follow-up exploded" in r.getMessage() for r in caplog.records)


def test_first_attempt_at_is_when_the_first_attempt_started(
    run_due, make_pub, fake_channel, fake_account
):
    fake_account.settings = {"mode": "transient", "fail_times": 1}
    fake_account.save()
    pub = make_pub(-1)
    assert pub.first_attempt_at() is None
    assert run_due() == {pub.pk: "retry"}
    first = pub.first_attempt_at()
    attempts = PublicationEvent.objects.filter(publication=pub, is_attempt=True)
    assert first == attempts.get().created_at
    assert run_due(now=timezone.now() + datetime.timedelta(hours=1)) == {pub.pk: "published"}
    assert attempts.count() == 2 and pub.first_attempt_at() == first
