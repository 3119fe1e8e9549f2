"""The publish pipeline through the services: idempotency, unknown outcomes, retries,
pause/cancel while running. Runs on SQLite and PostgreSQL (no concurrency here; see
test_concurrency_pg.py for that)."""

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from campaigns import services
from campaigns.models import Campaign, Notification, Publication, PublicationEvent

S = Publication.Status
pytestmark = pytest.mark.django_db


def run_due(now=None):
    """One dispatcher pass, then run each claimed task in-process (as a worker would)."""
    claimed = []
    services.claim_due_publications(now=now, enqueue=claimed.extend)
    # on_commit runs immediately outside an atomic block; inside pytest's test
    # transaction it is captured, so fall back to reading the queued rows.
    ids = claimed or list(Publication.objects.filter(status=S.QUEUED).values_list("pk", flat=True))
    return {pk: services.publish_publication(pk) for pk in ids}


@pytest.fixture(autouse=True)
def _immediate_on_commit(monkeypatch):
    # Tests here run inside one transaction; run on_commit callbacks right away.
    from django.db import transaction

    monkeypatch.setattr(transaction, "on_commit", lambda fn, using=None, robust=False: fn())


def test_publishes_once_even_if_task_delivered_twice(make_pub, fake_channel):
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


def test_attempt_record_written_before_external_call(make_pub, fake_channel):
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
    make_pub, fake_channel, fake_account, mode
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


def test_unknown_outcome_without_lookup_waits_for_a_person(make_pub, fake_channel, fake_account):
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
    make_pub, fake_channel, fake_account
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
    make_pub, fake_channel, fake_account
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


def test_permanent_error_fails_at_once_and_notifies_owner(make_pub, fake_channel, fake_account):
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
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [pub.campaign.owner.email]


def test_transient_errors_retry_with_backoff_then_succeed(
    make_pub, fake_channel, fake_account, settings
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


def test_transient_errors_give_up_after_max_attempts(make_pub, fake_account, settings):
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


def test_backoff_honours_retry_after_and_stays_under_visibility_timeout(settings):
    settings.CAMPAIGNS_RETRY_BASE_SECONDS = 30
    settings.CAMPAIGNS_RETRY_MAX_SECONDS = 10_000
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
    assert services.retry_backoff(1) == 30
    assert services.retry_backoff(1, retry_after=300) == 300
    assert services.retry_backoff(20) == 1800  # half the visibility timeout


def test_pause_during_attempt_stops_further_work_and_resume_continues(
    make_pub, fake_channel, campaign
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
    make_pub, fake_channel, fake_account
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


def test_cancel_arriving_too_late_still_records_the_post(make_pub, fake_channel):
    pub = make_pub(-1)
    fake_channel.DURING_PUBLISH = lambda p: services.cancel_publication(
        Publication.objects.get(pk=p.pk)
    )
    run_due()
    pub.refresh_from_db()
    assert pub.status == S.PUBLISHED
    assert "too late" in pub.events.last().reason


def test_paused_or_cancelled_queued_row_is_not_published(make_pub, fake_channel):
    a, b = make_pub(-2), make_pub(-1)
    services.claim_due_publications(enqueue=lambda ids: None)
    services.pause_publication(a)
    services.cancel_publication(b)
    assert services.publish_publication(a.pk) == "skipped"
    assert services.publish_publication(b.pk) == "skipped"
    assert fake_channel.posts(a) == fake_channel.posts(b) == 0
    services.resume_publication(a)
    assert run_due(now=timezone.now() + datetime.timedelta(seconds=1)) == {a.pk: "published"}


def test_reschedule_moves_due_time_and_queued_message_becomes_noop(make_pub, fake_channel):
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


def test_sweeper_requeues_lost_messages(make_pub, fake_channel):
    pub = make_pub(-1)
    services.claim_due_publications(enqueue=lambda ids: None)  # message lost
    sent = []
    later = timezone.now() + datetime.timedelta(minutes=10)
    assert services.sweep_stuck_publications(now=later, enqueue=sent.extend) == {
        "requeued": 1,
        "recovered": 0,
    }
    assert sent == [pub.pk]
    assert services.publish_publication(pub.pk) == "published"


def test_rate_limit_per_account(make_pub, fake_account):
    fake_account.rate_limit_per_minute = 3
    fake_account.save()
    pubs = [make_pub(-5) for _ in range(5)]
    now = timezone.now()
    first = services.claim_due_publications(now=now, enqueue=lambda ids: None)
    assert len(first) == 3
    assert (
        services.claim_due_publications(
            now=now + datetime.timedelta(seconds=30), enqueue=lambda ids: None
        )
        == []
    )
    rest = services.claim_due_publications(
        now=now + datetime.timedelta(seconds=61), enqueue=lambda ids: None
    )
    assert sorted(first + rest) == sorted(p.pk for p in pubs)


def test_every_transition_is_logged_with_actor(make_pub, campaign):
    pub = make_pub(3600)
    owner = campaign.owner
    services.pause_publication(pub, owner, "waiting for legal")
    event = pub.events.last()
    assert (event.from_status, event.to_status, event.actor, event.reason) == (
        S.SCHEDULED, S.PAUSED, owner, "waiting for legal",
    )  # fmt: skip


def test_illegal_transition_refused(make_pub):
    pub = make_pub(-1)
    run_due()
    with pytest.raises(services.InvalidTransition, match="already published"):
        services.cancel_publication(pub)


def test_first_attempt_at_is_when_the_first_attempt_started(make_pub, fake_channel, fake_account):
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
