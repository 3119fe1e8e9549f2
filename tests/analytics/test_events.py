"""Event recording: validation, bots and scanners, unique counting, the Redis queue."""

import datetime
import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone

from analytics import services
from analytics.models import Event, TrackedLink
from tests.analytics.conftest import let_the_confirmer_in, new_pushers

ROOT = Path(__file__).resolve().parents[2]
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"
T0 = datetime.datetime(2026, 11, 2, 9, 0, tzinfo=datetime.UTC)


def click(client, link, token="", ua=FIREFOX, ip="10.0.0.1"):
    query = f"?m={token}" if token else ""
    return client.get(f"/t/{link.code}{query}", HTTP_USER_AGENT=ua, REMOTE_ADDR=ip)


@pytest.fixture
def email_links(email_publication):
    for url in ("https://a.example.com/", "https://b.example.com/", "https://c.example.com/"):
        services.tracked_url(url, publication=email_publication)
    return list(TrackedLink.objects.order_by("pk"))


def test_record_events_validates_everything_first(email_publication):
    good = {"kind": "send", "publication_id": email_publication.pk, "occurred_at": T0}
    for bad, message in [
        ({**good, "kind": "click"}, "kind"),
        ({**good, "publication_id": "x"}, "publication_id"),
        ({**good, "occurred_at": T0.replace(tzinfo=None)}, "aware"),
        ("nope", "not a dict"),
    ]:
        with pytest.raises(ValueError, match=message):
            services.record_events([good, bad])
    assert not Event.objects.exists()


def test_record_events_is_idempotent_per_recipient(email_publication):
    events = [
        {"kind": k, "publication_id": email_publication.pk, "occurred_at": T0, "recipient_key": r}
        for k in ("send", "delivery")
        for r in ("r1", "r2")
    ]
    assert services.record_events(events) == 4
    assert services.record_events(events) == 0
    assert Event.objects.count() == 4
    delivery = Event.objects.filter(kind="delivery").first()
    assert delivery.channel == "email" and delivery.campaign_id == email_publication.campaign_id
    assert delivery.message_key.startswith(f"{email_publication.pk}:")


def test_bot_user_agent_is_flagged(client, email_links):
    click(client, email_links[0], ua="Mozilla/5.0 (compatible; bingbot/2.0)")
    event = Event.objects.get()
    assert event.is_bot and event.bot_reason == "user_agent" and not event.is_unique


def test_click_within_two_seconds_of_delivery_is_a_scanner(client, email_publication, email_links):
    token = services.message_token(email_publication.pk, "r1")
    services.record_events(
        [
            {
                "kind": "delivery",
                "publication_id": email_publication.pk,
                "occurred_at": T0,
                "recipient_key": "r1",
            }
        ]
    )
    with time_machine.travel(T0 + datetime.timedelta(seconds=1), tick=False):
        click(client, email_links[0], token)
    with time_machine.travel(T0 + datetime.timedelta(minutes=5), tick=False):
        click(client, email_links[0], token)
    first, second = Event.objects.filter(kind="click").order_by("occurred_at")
    assert first.is_bot and first.bot_reason == "fast_after_delivery"
    assert not second.is_bot and second.is_unique


def test_every_link_at_once_is_a_scanner(client, email_publication, email_links):
    token = services.message_token(email_publication.pk, "r2")
    with time_machine.travel(T0, tick=False):
        click(client, email_links[0], token)
        click(client, email_links[1], token)
    with time_machine.travel(T0 + datetime.timedelta(seconds=1), tick=False):
        click(client, email_links[2], token)
    assert Event.objects.filter(kind="click").count() == 3
    assert set(Event.objects.values_list("bot_reason", flat=True)) == {"all_links_at_once"}
    assert not Event.objects.filter(is_unique=True).exists()


def test_a_person_clicking_two_of_three_links_is_human(client, email_publication, email_links):
    token = services.message_token(email_publication.pk, "r3")
    with time_machine.travel(T0, tick=False):
        click(client, email_links[0], token)
        click(client, email_links[1], token)
    assert not Event.objects.filter(is_bot=True).exists()


def test_unique_clicks_per_message_and_per_daily_visitor(client, email_publication, email_links):
    token = services.message_token(email_publication.pk, "r4")
    link = email_links[0]
    with time_machine.travel(T0, tick=False):
        click(client, link, token, ip="10.0.0.1")
        click(client, link, token, ip="10.0.0.2")  # same message from another device
        click(client, link, ip="10.0.0.3")
        click(client, link, ip="10.0.0.3")  # same visitor again the same day
        click(client, link, ip="10.0.0.4")
    with time_machine.travel(T0 + datetime.timedelta(days=1), tick=False):
        click(client, link, ip="10.0.0.3")  # a new day, a new hash
        click(client, link, token, ip="10.0.0.1")  # a message stays one recipient
    assert Event.objects.filter(kind="click").count() == 7
    assert Event.objects.filter(kind="click", is_unique=True).count() == 4


def test_opens_unique_per_message(client, email_publication):
    token = services.message_token(email_publication.pk, "r5")
    for _ in range(3):
        client.get(f"/t/o/{token}", HTTP_USER_AGENT=FIREFOX)
    assert Event.objects.filter(kind="open").count() == 3
    assert Event.objects.filter(kind="open", is_unique=True).count() == 1


@pytest.mark.services
def test_redis_queue_then_drain(client, use_redis, email_links, settings):
    for _ in range(5):
        assert click(client, email_links[0]).status_code == 302
    assert not Event.objects.exists()  # nothing written on the request path
    services.flush_pushes()
    assert use_redis.llen(settings.ANALYTICS_QUEUE_KEY) == 5
    assert services.drain_event_queue(batch_size=2) == 5
    assert Event.objects.filter(kind="click").count() == 5
    assert use_redis.llen(settings.ANALYTICS_QUEUE_KEY) == 0


@pytest.mark.services
def test_crashed_drain_loses_nothing_and_counts_once(client, use_redis, email_links, settings):
    for _ in range(3):
        click(client, email_links[0])
    services.flush_pushes()
    key = settings.ANALYTICS_QUEUE_KEY
    # A drainer that moved a batch and stored it, then died before deleting it.
    items = use_redis.eval(services._MOVE_BATCH, 2, key, f"{key}:processing", 2)
    services.store_events([json.loads(i) for i in items])
    assert Event.objects.count() == 2
    assert services.drain_event_queue() == 3  # the leftover batch again, then the rest
    assert Event.objects.count() == 3
    assert services.drain_event_queue() == 0


@pytest.mark.services
def test_malformed_queue_entries_are_skipped(use_redis, email_links, settings):
    use_redis.rpush(settings.ANALYTICS_QUEUE_KEY, b"not json", b"[1,2]", b'{"u":"x","k":"evil"}')
    payload = {"u": "a" * 32, "k": "click", "t": timezone.now().timestamp(), "l": email_links[0].pk}
    use_redis.rpush(settings.ANALYTICS_QUEUE_KEY, json.dumps(payload))
    assert services.drain_event_queue() == 4
    assert Event.objects.count() == 1


def test_redis_down_falls_back_to_database(client, settings, email_links):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    assert click(client, email_links[0]).status_code == 302
    assert Event.objects.count() == 1


@pytest.mark.services
def test_click_after_redis_dropped_the_connection_is_still_queued(
    client, use_redis, email_links, settings
):
    """Redis closing a worker's idle push connection (timeout, restart) costs one
    reconnect, not a lost or database-stored click."""
    assert click(client, email_links[0]).status_code == 302
    services.flush_pushes()
    push_connection = services._pusher(settings.REDIS_URL).client.client_id()
    use_redis.client_kill_filter(_id=push_connection)
    assert click(client, email_links[0]).status_code == 302
    services.flush_pushes()  # the batch went to a dead socket: it is pushed again
    assert use_redis.llen(settings.ANALYTICS_QUEUE_KEY) == 2
    assert not Event.objects.exists()


@pytest.mark.services
def test_a_batch_written_to_a_dropped_connection_is_pushed_again(
    client, use_redis, email_links, settings
):
    """Redis drops the connection while a batch is still unconfirmed: the batch is
    pushed again on a new connection, not lost and not stored in the database."""
    assert click(client, email_links[0]).status_code == 302
    services.flush_pushes()
    push_connection = services._pusher(settings.REDIS_URL).client.client_id()
    assert click(client, email_links[0]).status_code == 302  # pending in the batch
    use_redis.client_kill_filter(_id=push_connection)
    assert click(client, email_links[1]).status_code == 302
    services.flush_pushes()
    assert not Event.objects.exists()  # all three went to Redis, none to the fallback
    # (A batch the kernel sent before the drop is in Redis twice: its uid counts it once.)
    services.drain_event_queue()
    assert Event.objects.filter(kind="click").count() == 3


@pytest.mark.services
def test_redis_error_reply_falls_back_to_database(client, use_redis, email_links, settings):
    use_redis.set(settings.ANALYTICS_QUEUE_KEY, "not a list")  # RPUSH answers WRONGTYPE
    assert click(client, email_links[0]).status_code == 302
    assert click(client, email_links[1]).status_code == 302
    services.flush_pushes()
    assert Event.objects.filter(kind="click").count() == 2


# --- The push is written before the response, its batch confirmed after it -------------


def _payload(link, uid):
    return {"u": uid, "k": "click", "t": timezone.now().timestamp(), "l": link.pk}


@pytest.mark.services
def test_a_full_batch_is_confirmed_by_the_end_of_its_request(
    client, use_redis, email_links, settings, monkeypatch
):
    settings.ANALYTICS_PUSH_BATCH = 3
    new_pushers(monkeypatch)
    for _ in range(2):
        assert click(client, email_links[0]).status_code == 302
    pusher = services._pusher(settings.REDIS_URL)
    assert pusher.corked
    assert len(pusher.pending) == 2  # written, not yet answered
    assert click(client, email_links[0]).status_code == 302
    # request_finished read the batch's replies: nothing is left waiting.
    assert pusher.pending == []
    assert use_redis.llen(settings.ANALYTICS_QUEUE_KEY) == 3


@pytest.mark.services
def test_batched_pushes_reach_redis_together_in_order(use_redis, email_links, settings):
    first, second = _payload(email_links[0], "a" * 32), _payload(email_links[0], "b" * 32)
    services.enqueue_event(first, confirm_after_response=True)
    services.enqueue_event(second, confirm_after_response=True)
    pusher = services._pusher(settings.REDIS_URL)
    services.confirm_pushes()  # neither full nor old: the batch waits
    assert pusher.pending == [first, second]
    services.flush_pushes()
    assert pusher.pending == []
    queued = [
        json.loads(item)["u"] for item in use_redis.lrange(settings.ANALYTICS_QUEUE_KEY, 0, -1)
    ]
    assert queued == ["a" * 32, "b" * 32]


@pytest.mark.services
def test_without_batching_each_push_is_confirmed_before_the_next(
    use_redis, email_links, settings, monkeypatch
):
    settings.ANALYTICS_PUSH_BATCH = 1
    new_pushers(monkeypatch)
    first, second = _payload(email_links[0], "a" * 32), _payload(email_links[0], "b" * 32)
    services.enqueue_event(first, confirm_after_response=True)
    pusher = services._pusher(settings.REDIS_URL)
    assert not pusher.corked
    services.enqueue_event(second, confirm_after_response=True)
    assert pusher.pending == [second]
    services.confirm_pushes()  # at the end of the request: always due
    assert pusher.pending == []
    assert use_redis.llen(settings.ANALYTICS_QUEUE_KEY) == 2


@pytest.mark.services
def test_an_idle_workers_batch_is_confirmed_by_the_confirmer_thread(
    client, use_redis, email_links, settings, monkeypatch
):
    """A worker that answered one click and then gets no request: the process's
    confirmer thread sends and confirms the batch once it is ANALYTICS_PUSH_MAX_WAIT_MS
    old, not the next request."""
    settings.ANALYTICS_PUSH_MAX_WAIT_MS = 100
    let_the_confirmer_in(monkeypatch)
    new_pushers(monkeypatch)
    started = time.monotonic()
    assert click(client, email_links[0]).status_code == 302
    pusher = services._pusher(settings.REDIS_URL)
    key = settings.ANALYTICS_QUEUE_KEY
    while (pusher.pending or pusher.lock.locked()) and time.monotonic() - started < 5:
        time.sleep(0.01)
    assert pusher.pending == []
    assert time.monotonic() - started >= 0.1  # it waited for the batch to fill first
    assert use_redis.llen(key) == 1
    assert not Event.objects.exists()


@pytest.mark.services
def test_a_batch_never_outgrows_one_tcp_segment(use_redis, email_links, settings):
    """The kernel sends full segments of a corked socket at once and Redis answers
    them; an answer left unread would make a killed worker's socket reset and drop
    the rest. So a push that would spill the batch out of a segment confirms the batch
    first, and a push bigger than a segment is confirmed before its response."""
    # Equal sizes: the same timestamp for all (its printed length varies).
    first, second, third = ({**_payload(email_links[0], c * 32), "t": 1.5} for c in "abc")
    key = settings.ANALYTICS_QUEUE_KEY
    services.enqueue_event(first, confirm_after_response=True)
    pusher = services._pusher(settings.REDIS_URL)
    assert pusher.segment_bytes > 1000  # read from the socket (loopback: 32 kB or more)
    pusher.segment_bytes = 2 * len(pusher._commands([first]))  # two pushes per segment
    services.enqueue_event(second, confirm_after_response=True)
    assert pusher.pending == [first, second]
    assert not pusher._batch_left_the_socket()  # the kernel holds both, corked
    services.enqueue_event(third, confirm_after_response=True)
    assert pusher.pending == [third]  # the first two were confirmed before it went in
    assert use_redis.llen(key) == 2
    big = {**_payload(email_links[0], "d" * 32), "a": "x" * pusher.segment_bytes}
    services.enqueue_event(big, confirm_after_response=True)
    assert pusher.pending == []
    assert [json.loads(item)["u"] for item in use_redis.lrange(key, 0, -1)] == [
        c * 32 for c in "abcd"
    ]


@pytest.mark.services
def test_after_a_refusal_each_push_is_confirmed_by_the_end_of_its_request(
    use_redis, email_links, settings
):
    key = settings.ANALYTICS_QUEUE_KEY
    use_redis.set(key, "not a list")  # RPUSH answers WRONGTYPE
    services.enqueue_event(_payload(email_links[0], "a" * 32), confirm_after_response=True)
    services.flush_pushes()
    assert Event.objects.filter(uid="a" * 32).exists()  # refused, stored directly
    use_redis.delete(key)
    services.enqueue_event(_payload(email_links[0], "b" * 32), confirm_after_response=True)
    services.confirm_pushes()  # a batch of one, due at once for a while
    assert services._pusher(settings.REDIS_URL).pending == []
    assert use_redis.llen(key) == 1


@pytest.mark.services
def test_clicks_written_before_redis_went_away_are_stored(use_redis, email_links, settings, caplog):
    """The push connection drops and Redis cannot be reached again: the click being
    pushed is stored directly, and so is the batch written before it."""
    services.enqueue_event(_payload(email_links[0], "a" * 32), confirm_after_response=True)
    pusher = services._pusher(settings.REDIS_URL)
    pusher.url = "redis://127.0.0.1:1/0"  # where it will try to reconnect
    pusher.sock.shutdown(socket.SHUT_RDWR)
    services.enqueue_event(_payload(email_links[0], "b" * 32), confirm_after_response=True)
    assert sorted(Event.objects.values_list("uid", flat=True)) == ["a" * 32, "b" * 32]
    assert pusher.pending == []


def _run_pushing_process(settings, body: str) -> subprocess.CompletedProcess:
    """Run `body` in a fresh Python process whose event queue is this test's, as a web
    worker would be (django set up, the analytics services imported), with the
    confirmer thread kept away so that nothing confirms a batch behind the test's back."""
    lines = [
        "import os, signal, sys, threading, time, django",
        "django.setup()",
        "from django.conf import settings",
        "settings.REDIS_URL, settings.ANALYTICS_QUEUE_KEY = sys.argv[1:3]",
        "from analytics import services",
        "services._CONFIRMER.batch_started = lambda due_at: None",
        "def click(uid):",
        "    services.enqueue_event({'u': uid, 'k': 'click', 't': 1.0},"
        " confirm_after_response=True)",
        body,
    ]
    return subprocess.run(
        [sys.executable, "-c", "\n".join(lines), settings.REDIS_URL, settings.ANALYTICS_QUEUE_KEY],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.services
def test_a_batch_is_confirmed_when_the_process_exits(use_redis, settings):
    """A graceful exit (a gunicorn restart) reads the last batches' replies, those of a
    gthread worker's pool threads too: a push Redis refused still goes to the database.
    (Exiting alone would send the batches, but nobody would learn that Redis refused
    them.)"""
    use_redis.set(settings.ANALYTICS_QUEUE_KEY, "not a list")  # RPUSH answers WRONGTYPE
    done = _run_pushing_process(
        settings,
        "services.store_events = lambda payloads: print('stored', *[p['u'] for p in payloads])\n"
        "threads = [threading.Thread(target=click, args=(c * 32,)) for c in 'wxyz']\n"
        "[(t.start(), t.join()) for t in threads]\n"
        "sys.exit(0)",
    )
    assert done.returncode == 0, done.stderr
    stored = sorted(line.split()[1] for line in done.stdout.splitlines())
    assert stored == [c * 32 for c in "wxyz"]


@pytest.mark.services
def test_push_survives_the_worker_dying_right_after_the_response(use_redis, settings):
    """What makes answering before the reply safe: once written, the push is the
    kernel's to deliver, even from a corked socket whose batch is not yet confirmed, so
    a worker killed between its 302 and reading the reply loses nothing."""
    done = _run_pushing_process(
        settings,
        "click('k' * 32)\n"
        "assert services._pusher(settings.REDIS_URL).corked\n"
        "os.kill(os.getpid(), signal.SIGKILL)",
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    queued = use_redis.lrange(settings.ANALYTICS_QUEUE_KEY, 0, -1)
    assert [json.loads(item)["u"] for item in queued] == ["k" * 32]


@pytest.mark.services
def test_a_click_after_an_idle_spell_survives_the_worker_dying(use_redis, settings):
    """After 200 ms the kernel sends a corked batch on its own, and Redis's reply would
    then lie unread when the next click is corked behind it: a kill would reset the
    connection and drop that click. The confirmer reads an idle batch long before (at
    ANALYTICS_PUSH_MAX_WAIT_MS); here it is kept away, so the next push must find the
    reply waiting and confirm the batch before it is written."""
    body = """
click('a' * 32)
pusher = services._pusher(settings.REDIS_URL)
deadline = time.monotonic() + 5
while not pusher._batch_left_the_socket() and time.monotonic() < deadline:
    time.sleep(0.01)  # until the kernel's cork limit sends the batch by itself
time.sleep(0.05)  # and Redis has answered it
click('b' * 32)
pending = [p['u'][0] for p in pusher.pending]
assert pending == ['b'], pending
click('c' * 32)
os.kill(os.getpid(), signal.SIGKILL)
"""
    done = _run_pushing_process(settings, body)
    assert done.returncode == -signal.SIGKILL, done.stderr
    queued = use_redis.lrange(settings.ANALYTICS_QUEUE_KEY, 0, -1)
    assert [json.loads(item)["u"] for item in queued] == [c * 32 for c in "abc"]


@pytest.mark.services
def test_a_click_after_redis_hung_up_survives_the_worker_dying(use_redis, settings):
    """Redis closed the idle push connection (a restart, its client timeout): a push
    corked into that socket would be reset by Redis when a kill sends it. The push
    sees the hang-up and reconnects first."""
    body = """
import redis
click('a' * 32)
services.flush_pushes()
pusher = services._pusher(settings.REDIS_URL)
redis.Redis.from_url(settings.REDIS_URL).client_kill_filter(_id=pusher.client.client_id())
deadline = time.monotonic() + 5
while not pusher.poller.poll(0) and time.monotonic() < deadline:
    time.sleep(0.01)
click('b' * 32)
os.kill(os.getpid(), signal.SIGKILL)
"""
    done = _run_pushing_process(settings, body)
    assert done.returncode == -signal.SIGKILL, done.stderr
    queued = use_redis.lrange(settings.ANALYTICS_QUEUE_KEY, 0, -1)
    assert [json.loads(item)["u"] for item in queued] == ["a" * 32, "b" * 32]


@pytest.mark.services
def test_a_forked_child_pushes_on_its_own_connection(use_redis, settings):
    """A process forked while it has a batch pending (gunicorn forks workers from its
    master): the child neither reads nor confirms the parent's socket, and both
    batches arrive."""
    body = """
click('p' * 32)
parent = services._pusher(settings.REDIS_URL)
child = os.fork()
if child == 0:
    ok = not getattr(services._PUSHERS, 'by_url', {}) and not services._CONFIRMER.pushers
    click('c' * 32)
    ok = ok and services._pusher(settings.REDIS_URL) is not parent
    services.flush_pushes()
    os._exit(0 if ok else 3)
_, status = os.waitpid(child, 0)
assert os.waitstatus_to_exitcode(status) == 0, status
assert [p['u'][0] for p in parent.pending] == ['p']  # untouched by the child
services.flush_pushes()
assert parent.pending == []
"""
    done = _run_pushing_process(settings, body)
    assert done.returncode == 0, done.stderr
    queued = use_redis.lrange(settings.ANALYTICS_QUEUE_KEY, 0, -1)
    assert sorted(json.loads(item)["u"] for item in queued) == ["c" * 32, "p" * 32]


@pytest.mark.services
@pytest.mark.parametrize(("batch", "wakeups"), [(1, 0), (16, 1)])
def test_only_corked_batches_wake_the_confirmer(
    use_redis, email_links, settings, monkeypatch, batch, wakeups
):
    settings.ANALYTICS_PUSH_BATCH = batch
    new_pushers(monkeypatch)
    woken = []
    monkeypatch.setattr(services._CONFIRMER, "batch_started", woken.append)
    for uid in ("a" * 32, "b" * 32):  # one batch of two, or two batches of one
        services.enqueue_event(_payload(email_links[0], uid), confirm_after_response=True)
        services.confirm_pushes()
    assert len(woken) == wakeups
    services.flush_pushes()
    assert use_redis.llen(settings.ANALYTICS_QUEUE_KEY) == 2


@pytest.mark.services
def test_reply_that_times_out_is_stored_once_and_the_next_click_queued(
    client, use_redis, email_links, settings, monkeypatch
):
    """Redis stalls (paused here): the reply does not come in time, so the click is
    stored in the database after its 302; whatever Redis does with the push later, the
    drain counts it once. The next click goes to Redis on a new connection."""
    monkeypatch.setattr(services, "PUSH_TIMEOUT_SECONDS", 0.3)
    settings.ANALYTICS_PUSH_BATCH = 1  # each click confirmed at the end of its request
    new_pushers(monkeypatch)  # one with that timeout and batch
    use_redis.client_pause(1000, all=False)  # write commands wait a second
    started = time.monotonic()
    assert click(client, email_links[0]).status_code == 302
    assert time.monotonic() - started < 0.9  # gave up at the timeout, not at the unpause
    assert Event.objects.filter(kind="click").count() == 1
    time.sleep(max(0.0, 1.1 - (time.monotonic() - started)))  # the pause is over
    services.drain_event_queue()
    assert Event.objects.filter(kind="click").count() == 1
    assert click(client, email_links[1]).status_code == 302
    assert use_redis.llen(settings.ANALYTICS_QUEUE_KEY) == 1
    assert Event.objects.filter(kind="click").count() == 1
