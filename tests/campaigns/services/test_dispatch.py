"""The dispatcher and the sweeper: claiming due rows, rate limits, the hand-off to
workers, recovering what a crash left behind."""

import datetime

import pytest
from django.utils import timezone

from campaigns import services
from campaigns.models import Notification, Publication
from campaigns.signals import publications_due

S = Publication.Status
pytestmark = pytest.mark.django_db


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


def test_sweeper_requeues_lost_messages(make_pub, fake_channel, immediate_on_commit):
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


@pytest.fixture
def announced():
    """What `publications_due` carried, in order (the tasks module listens too)."""
    seen = []

    def listener(sender, publication_ids, **kwargs):
        seen.append(list(publication_ids))

    publications_due.connect(listener)
    yield seen
    publications_due.disconnect(listener)


def test_claimed_rows_are_handed_to_workers_only_after_commit(
    make_pub, fake_channel, celery_eager, announced, django_capture_on_commit_callbacks
):
    pub = make_pub(-1)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert services.claim_due_publications() == [pub.pk]
    assert announced == []  # nothing leaves before the claim is committed
    pub.refresh_from_db()
    assert pub.status == S.QUEUED
    for callback in callbacks:
        callback()
    assert announced == [[pub.pk]]
    # campaigns.tasks listens and enqueues the publish task (run eagerly here).
    pub.refresh_from_db()
    assert pub.status == S.PUBLISHED and fake_channel.posts(pub) == 1


def test_an_explicit_enqueue_replaces_the_signal(make_pub, announced, immediate_on_commit):
    pub = make_pub(-1)
    taken = []
    services.claim_due_publications(enqueue=taken.extend)
    assert taken == [pub.pk] and announced == []


def test_sweeper_hands_lost_messages_over_through_the_signal(
    make_pub, fake_channel, celery_eager, announced, immediate_on_commit
):
    pub = make_pub(-1)
    services.claim_due_publications(enqueue=lambda ids: None)  # message lost
    later = timezone.now() + datetime.timedelta(minutes=10)
    assert services.sweep_stuck_publications(now=later)["requeued"] == 1
    assert announced == [[pub.pk]]
    pub.refresh_from_db()
    assert pub.status == S.PUBLISHED


@pytest.mark.parametrize(
    "attempts, pending, status, due, notified",
    [
        (1, "", S.UNKNOWN, True, False),  # looked up on the next attempt
        (5, "", S.UNKNOWN, False, True),  # out of attempts: a person checks
        (1, "pause", S.PAUSED, False, False),
        (1, "cancel", S.CANCELLED, False, False),
    ],
)
def test_sweeper_recovers_an_attempt_whose_worker_died(
    make_pub, campaign, settings, immediate_on_commit, attempts, pending, status, due, notified
):
    settings.CAMPAIGNS_PUBLISH_MAX_ATTEMPTS = 5
    pub = make_pub(-1)
    services.claim_due_publications(enqueue=lambda ids: None)
    started = timezone.now() - datetime.timedelta(hours=2)
    # What a worker killed mid-attempt leaves behind.
    Publication.objects.filter(pk=pub.pk).update(
        status=S.PUBLISHING, started_at=started, attempt_count=attempts, pending_action=pending
    )
    now = timezone.now()
    assert services.sweep_stuck_publications(now=now) == {"requeued": 0, "recovered": 1}
    pub.refresh_from_db()
    assert pub.status == status and pub.needs_lookup and pub.pending_action == ""
    assert pub.due_at == (now if due else None)
    assert "never finished" in pub.events.last().reason
    assert Notification.objects.filter(publication=pub).exists() == notified
    # Recovered once: a second sweep finds nothing.
    assert services.sweep_stuck_publications(now=now)["recovered"] == 0
