"""Draining the Redis queue into the database: batches, crashes, malformed entries."""

import json

import pytest
from django.utils import timezone

from analytics.draining import claim_batch, drain_event_queue
from analytics.events import store_events
from analytics.models import Event
from analytics.pusher import flush_pushes
from tests.analytics.conftest import click


@pytest.mark.services
def test_redis_queue_then_drain(client, use_redis, email_links, settings):
    for _ in range(5):
        assert click(client, email_links[0]).status_code == 302
    assert not Event.objects.exists()  # nothing written on the request path
    flush_pushes()
    assert use_redis.llen(settings.ANALYTICS_QUEUE_KEY) == 5
    assert drain_event_queue(batch_size=2) == 5
    assert Event.objects.filter(kind="click").count() == 5
    assert use_redis.llen(settings.ANALYTICS_QUEUE_KEY) == 0


@pytest.mark.services
def test_crashed_drain_loses_nothing_and_counts_once(client, use_redis, email_links, settings):
    for _ in range(3):
        click(client, email_links[0])
    flush_pushes()
    # A drainer that moved a batch and stored it, then died before deleting it.
    items = claim_batch(use_redis, 2)
    store_events([json.loads(i) for i in items])
    assert Event.objects.count() == 2
    assert drain_event_queue() == 3  # the leftover batch again, then the rest
    assert Event.objects.count() == 3
    assert drain_event_queue() == 0


@pytest.mark.services
def test_malformed_queue_entries_are_skipped(use_redis, email_links, settings):
    use_redis.rpush(settings.ANALYTICS_QUEUE_KEY, b"not json", b"[1,2]", b'{"u":"x","k":"evil"}')
    payload = {"u": "a" * 32, "k": "click", "t": timezone.now().timestamp(), "l": email_links[0].pk}
    use_redis.rpush(settings.ANALYTICS_QUEUE_KEY, json.dumps(payload))
    assert drain_event_queue() == 4
    assert Event.objects.count() == 1
