"""Consumer counts on the operations page come from real workers (issue 17, point 11).

A real Celery worker (in a thread, with the project's consumer steps, the heartbeat
among them) consumes a queue of its own on Redis and on RabbitMQ. RabbitMQ's count comes
from the broker; Redis keeps none, so the count is the live workers whose heartbeat
names the queue. A worker that stops says so; one that died without a word stops
counting after three heartbeats.
"""

import datetime
import time
import uuid

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from kombu import Connection

from config.ops import services
from config.ops.models import WorkerHeartbeat
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)  # the worker's thread writes its row


@pytest.fixture
def worker(broker_url_override, settings):
    """`worker(broker_url, queue)`: a context manager running one real worker on `queue`."""
    from celery.contrib.testing.worker import start_worker

    from config.celery import app
    from tests.journeys.conftest import fresh_pools

    settings.OPS_WORKER_HEARTBEAT_SECONDS = 1

    def run(broker_url: str, queue: str):
        broker_url_override(broker_url)
        fresh_pools(app)
        return start_worker(
            app,
            pool="threads",
            concurrency=1,
            queues=[queue],
            perform_ping_check=False,
            shutdown_timeout=30,
            hostname=f"ops-test-{queue}@localhost",
        )

    yield run
    fresh_pools(app)


def wait_for(predicate, seconds=15.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    return predicate()


def heartbeat_naming(queue):
    """The heartbeat row of a worker that consumes `queue` (JSON `contains` is not
    available on SQLite: filtered here)."""
    return next((r for r in WorkerHeartbeat.objects.all() if queue in r.queues), None)


def depth(queue):
    return services.measure_queue_depths(names=[queue])[0]


def test_redis_consumers_are_the_workers_heartbeats_name(worker, redis_url):
    queue = f"ops-{uuid.uuid4().hex[:8]}"
    with worker(redis_url, queue):
        row = wait_for(lambda: heartbeat_naming(queue))
        assert row is not None, "the worker wrote no heartbeat naming its queue"
        assert row.hostname == f"ops-test-{queue}@localhost"
        measured = depth(queue)
        assert (measured.consumers, measured.consumers_from, measured.error) == (
            1,
            "heartbeats",
            "",
        )
        assert measured.messages == 0  # an empty Redis queue is empty, not an error
    # A clean shutdown removes the row at once.
    assert not WorkerHeartbeat.objects.filter(hostname=row.hostname).exists()
    assert depth(queue).consumers == 0


def test_rabbitmq_consumers_are_counted_by_the_broker(worker, rabbitmq_url):
    queue = f"ops-{uuid.uuid4().hex[:8]}"
    try:
        with worker(rabbitmq_url, queue):
            measured = wait_for(
                lambda: (d := depth(queue)).consumers == 1 and d, seconds=15
            ) or depth(queue)
            assert (measured.consumers, measured.consumers_from) == (1, "broker"), measured
            # The broker's number, not ours: a heartbeat row for a second worker that
            # does not exist changes nothing.
            WorkerHeartbeat.objects.create(
                hostname="ghost@nowhere",
                queues=[queue],
                started_at=timezone.now(),
                seen_at=timezone.now(),
            )
            assert depth(queue).consumers == 1
        assert wait_for(lambda: depth(queue).consumers == 0), depth(queue)
    finally:
        with Connection(rabbitmq_url) as conn:
            conn.default_channel.queue_delete(queue)


def test_a_worker_that_died_silently_stops_counting(settings, redis_url, broker_url_override):
    broker_url_override(redis_url)
    settings.OPS_WORKER_HEARTBEAT_SECONDS = 10
    now = timezone.now()
    queue = f"ops-{uuid.uuid4().hex[:8]}"
    for name, age in (("fresh@a", 5), ("stale@b", 31), ("gone@c", 3600)):
        WorkerHeartbeat.objects.create(
            hostname=name,
            queues=[queue],
            started_at=now - datetime.timedelta(hours=2),
            seen_at=now - datetime.timedelta(seconds=age),
        )
    assert depth(queue).consumers == 1
    seen = {w.hostname: w.live for w in services.workers_seen()}
    assert seen == {"fresh@a": True, "stale@b": False}  # "gone" is past the 10 minutes


def test_the_page_shows_a_running_worker_and_how_consumers_are_counted(client, worker, redis_url):
    from config.ops.queues import DEFAULT

    viewer = UserFactory(username="ops-viewer")
    viewer.user_permissions.add(
        Permission.objects.get(codename="access_admin", content_type__app_label="wagtailadmin"),
        Permission.objects.get(codename="view_operations", content_type__app_label="ops"),
    )
    client.force_login(viewer)
    with worker(redis_url, DEFAULT):
        assert wait_for(lambda: heartbeat_naming(DEFAULT))
        html = client.get("/admin/operations/").content.decode()
    assert f"ops-test-{DEFAULT}@localhost" in html
    row = html[html.index(f'data-queue="{DEFAULT}"') :]
    row = row[: row.index("</tr>")]
    assert "<td data-consumers>1</td>" in row
    assert "worker heartbeats" in row
    assert "Redis and the development broker keep no count" in html
