"""Exactly-once under real concurrency: PostgreSQL row locks, separate connections per
thread/process, a real Redis broker and a real Celery worker, a worker killed with
SIGKILL mid-publish."""

import datetime
import multiprocessing
import os
import signal
import threading
import time
import uuid

import pytest
from django.db import connection, connections
from django.utils import timezone

from campaigns import services
from campaigns.models import Publication
from tests.factories import PublicationFactory

S = Publication.Status
pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def make_due(n, campaign, page, account, seconds_ago=1):
    when = timezone.now() - datetime.timedelta(seconds=seconds_ago)
    pubs = PublicationFactory.create_batch(
        n, campaign=campaign, page=page, channel_account=account, publish_at=when
    )
    Publication.objects.filter(pk__in=[p.pk for p in pubs]).update(status=S.SCHEDULED, due_at=when)
    return pubs


def in_threads(n, target):
    """Run `target(i)` in n threads that start together, each with its own DB connection."""
    barrier = threading.Barrier(n)
    results, errors = [None] * n, []

    def run(i):
        try:
            barrier.wait()
            results[i] = target(i)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    return results


def test_two_dispatchers_claim_each_due_row_once(postgres, campaign, post, fake_account):
    pubs = make_due(600, campaign, post, fake_account)

    def dispatcher(_i):
        mine = []
        while True:
            ids = services.claim_due_publications(50, enqueue=lambda ids: None)
            if not ids:
                return mine
            mine.extend(ids)

    a, b = in_threads(2, dispatcher)
    assert not set(a) & set(b)
    assert sorted(a + b) == sorted(p.pk for p in pubs)
    assert a and b, "both dispatchers should have claimed work (SKIP LOCKED, no waiting)"
    assert Publication.objects.filter(status=S.QUEUED).count() == 600
    # One "claimed" event per row.
    from campaigns.models import PublicationEvent

    assert PublicationEvent.objects.filter(to_status=S.QUEUED).count() == 600


def test_conditional_update_claim_is_exclusive_without_row_locks(
    postgres, campaign, post, fake_account, monkeypatch
):
    """The SQLite path (no SKIP LOCKED) must be correct on its own: both dispatchers
    see the same candidates, the conditional UPDATE lets only one win each row."""
    pubs = make_due(300, campaign, post, fake_account)
    monkeypatch.setattr(type(connection.features), "has_select_for_update_skip_locked", False)

    def dispatcher(_i):
        mine = []
        while ids := services.claim_due_publications(100, enqueue=lambda ids: None):
            mine.extend(ids)
        return mine

    a, b = in_threads(2, dispatcher)
    assert not set(a) & set(b)
    assert sorted(a + b) == sorted(p.pk for p in pubs)


def test_same_task_run_concurrently_publishes_once(postgres, redis_store, make_pub):
    pub = make_pub(-1)
    services.claim_due_publications(enqueue=lambda ids: None)
    results = in_threads(4, lambda i: services.publish_publication(pub.pk))
    assert sorted(results) == ["published", "skipped", "skipped", "skipped"]
    assert redis_store.get(f"posts:{pub.idempotency_key}") == 1


@pytest.fixture
def celery_on_redis(redis_url, monkeypatch):
    """The project's Celery app pointed at real Redis, with a private queue, and a
    producer on a connection of its own: the app's producer pool may already be bound
    to the test broker by an earlier test (eager tasks acquire a producer too)."""
    import redis

    from config.celery import app

    queue = f"helperA-{uuid.uuid4().hex[:8]}"
    # Celery reads CELERY_BROKER_URL from the environment before its own setting (CI sets
    # it): without this the worker would listen on that broker and the producer below
    # send to `redis_url`.
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    monkeypatch.setattr(app.conf, "broker_url", redis_url)
    monkeypatch.setattr(app.conf, "broker_transport_options", {"visibility_timeout": 3600})
    monkeypatch.setattr(app.conf, "task_always_eager", False)
    monkeypatch.setattr(app.conf, "task_default_queue", queue)
    with app.connection_for_write(redis_url) as connection:
        yield app, queue, app.amqp.Producer(connection)
    redis.Redis.from_url(redis_url).delete(queue)


def test_task_delivered_twice_through_redis_publishes_once(
    postgres, redis_store, make_pub, celery_on_redis
):
    from celery.contrib.testing.worker import start_worker

    from campaigns.tasks import publish_publication_task

    app, queue, producer = celery_on_redis
    pub = make_pub(-1)
    services.claim_due_publications(enqueue=lambda ids: None)
    # The very same task, delivered twice (as after a lost ack or a duplicate enqueue).
    for _ in range(2):
        publish_publication_task.apply_async((pub.pk,), queue=queue, producer=producer)
    with start_worker(
        app, pool="solo", perform_ping_check=False, queues=[queue], shutdown_timeout=20
    ):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            pub.refresh_from_db()
            if pub.status == S.PUBLISHED and redis_store.get(f"calls:{pub.idempotency_key}"):
                time.sleep(1)  # give the second delivery time to run
                break
            time.sleep(0.1)
    pub.refresh_from_db()
    assert pub.status == S.PUBLISHED
    assert redis_store.get(f"posts:{pub.idempotency_key}") == 1
    assert pub.events.filter(is_attempt=True).count() == 1


def _child_publish(pub_id):
    # A forked "worker": fresh DB connection, then the real service.
    connections.close_all()
    services.publish_publication(pub_id)


@pytest.mark.parametrize("mode", ["block_before", "block_after"])
def test_worker_killed_mid_publish_is_recovered_by_sweeper_exactly_once(
    postgres, redis_store, make_pub, fake_account, mode
):
    fake_account.settings = {"mode": mode}
    fake_account.save()
    pub = make_pub(-1)
    services.claim_due_publications(enqueue=lambda ids: None)
    connections.close_all()
    ctx = multiprocessing.get_context("fork")
    child = ctx.Process(target=_child_publish, args=(pub.pk,))
    child.start()
    deadline = time.monotonic() + 20
    while not redis_store.get(f"started:{pub.idempotency_key}"):
        assert time.monotonic() < deadline, "child never reached the channel"
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.join(10)

    pub.refresh_from_db()
    assert pub.status == S.PUBLISHING  # left behind by the dead worker
    # A redelivered message (reject_on_worker_lost) finds it publishing and does nothing.
    assert services.publish_publication(pub.pk) == "skipped"

    fake_account.settings = {"mode": "ok"}
    fake_account.save()
    later = timezone.now() + datetime.timedelta(hours=1)
    assert services.sweep_stuck_publications(now=later)["recovered"] == 1
    pub.refresh_from_db()
    assert pub.status == S.UNKNOWN and pub.needs_lookup
    ids = services.claim_due_publications(now=later, enqueue=lambda ids: None)
    assert ids == [pub.pk]
    expected = "found" if mode == "block_after" else "published"
    assert services.publish_publication(pub.pk) == expected
    pub.refresh_from_db()
    assert pub.status == S.PUBLISHED
    assert redis_store.get(f"posts:{pub.idempotency_key}") == 1
    assert redis_store.get(f"lookups:{pub.idempotency_key}") == 1


def test_pause_while_publishing_concurrently(
    postgres, redis_store, make_pub, campaign, fake_account
):
    """A pause from another connection while workers are mid-run: nothing further is
    published; resume publishes the rest, each exactly once."""
    pubs = [make_pub(-5) for _ in range(20)]
    services.claim_due_publications(enqueue=lambda ids: None)
    started = threading.Event()

    def slow(p):
        started.set()
        time.sleep(0.02)

    import tests.campaigns.fakes as fakes

    fakes.DURING_PUBLISH = slow
    ids = [p.pk for p in pubs]

    def worker(i):
        return [services.publish_publication(pk) for pk in ids[i::2]]

    pauser = threading.Thread(
        target=lambda: (started.wait(5), services.pause_campaign(campaign), connections.close_all())
    )
    pauser.start()
    in_threads(2, worker)
    pauser.join(10)
    fakes.DURING_PUBLISH = None
    statuses = {p.pk: Publication.objects.get(pk=p.pk).status for p in pubs}
    assert set(statuses.values()) <= {S.PUBLISHED, S.PAUSED}
    assert S.PAUSED in statuses.values()
    published_before = {pk for pk, s in statuses.items() if s == S.PUBLISHED}

    services.resume_campaign(campaign)
    later = timezone.now() + datetime.timedelta(seconds=1)
    for pk in services.claim_due_publications(now=later, enqueue=lambda ids: None):
        assert pk not in published_before
        services.publish_publication(pk)
    for p in pubs:
        assert Publication.objects.get(pk=p.pk).status == S.PUBLISHED
        assert redis_store.get(f"posts:{p.idempotency_key}") == 1
