"""The event pusher: a tracked click is written to Redis's socket before its response,
confirmed with its batch after it, and never lost (Redis down, refusing, hanging up,
stalling; the worker killed, forked or exiting)."""

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.utils import timezone

from analytics.draining import drain_event_queue
from analytics.models import Event
from analytics.pusher import (
    CONFIRMER,
    confirm_pushes,
    enqueue_event,
    flush_pushes,
    thread_pusher,
)
from tests.analytics.conftest import FIREFOX, click

ROOT = Path(__file__).resolve().parents[2]


# --- Durable queueing from the redirect ------------------------------------------------


@pytest.mark.services
def test_clicks_reach_redis_with_their_batch(client, use_redis, links, settings):
    settings.ANALYTICS_PUSH_BATCH = 2  # this thread's next push makes a new pusher
    key = settings.ANALYTICS_QUEUE_KEY
    for _ in range(2):
        response = client.get(f"/t/{links[0].code}?m=x", HTTP_USER_AGENT=FIREFOX)
        assert response.status_code == 302
    assert use_redis.llen(key) == 2  # the second click filled the batch
    assert not Event.objects.exists()
    assert drain_event_queue() == 2
    assert Event.objects.filter(kind="click", link_id=links[0].pk).count() == 2


@pytest.mark.services
def test_a_connection_closed_by_redis_is_reopened(client, use_redis, links, settings):
    key = settings.ANALYTICS_QUEUE_KEY
    assert client.get(f"/t/{links[0].code}", HTTP_USER_AGENT=FIREFOX).status_code == 302
    flush_pushes()
    # Redis restarts or drops idle clients: every other connection goes away.
    use_redis.client_kill_filter(_type="normal", skipme=True)
    assert client.get(f"/t/{links[1].code}", HTTP_USER_AGENT=FIREFOX).status_code == 302
    flush_pushes()
    assert use_redis.llen(key) == 2  # queued through a new connection, not the fallback
    assert not Event.objects.exists()


def test_without_redis_the_click_is_stored_before_the_response(client, links):
    response = client.get(f"/t/{links[2].code}", HTTP_USER_AGENT=FIREFOX)
    assert response.status_code == 302
    event = Event.objects.get()
    assert (event.kind, event.link_id, event.is_bot) == ("click", links[2].pk, False)


def _click(client, link_or_code, **extra):
    code = getattr(link_or_code, "code", link_or_code)
    return client.get(f"/t/{code}", HTTP_USER_AGENT=FIREFOX, **extra)


@pytest.mark.services
def test_unknown_code_with_redis_is_404_and_queues_nothing(client, use_redis, links, settings):
    response = _click(client, "A" * 16)
    assert response.status_code == 404 and "Location" not in response
    assert use_redis.llen(settings.ANALYTICS_QUEUE_KEY) == 0
    assert drain_event_queue() == 0
    assert not Event.objects.exists()


def test_redis_down_still_redirects_and_stores(client, settings, links):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    assert _click(client, links[0]).status_code == 302
    assert _click(client, links[0]).status_code == 302  # from the process cache now
    assert _click(client, "A" * 16).status_code == 404
    assert Event.objects.filter(link_id=links[0].pk).count() == 2


# --- Redis failing under the pusher ----------------------------------------------------


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
    flush_pushes()
    push_connection = thread_pusher(settings.REDIS_URL).client.client_id()
    use_redis.client_kill_filter(_id=push_connection)
    assert click(client, email_links[0]).status_code == 302
    flush_pushes()  # the batch went to a dead socket: it is pushed again
    assert use_redis.llen(settings.ANALYTICS_QUEUE_KEY) == 2
    assert not Event.objects.exists()


@pytest.mark.services
def test_a_batch_written_to_a_dropped_connection_is_pushed_again(
    client, use_redis, email_links, settings
):
    """Redis drops the connection while a batch is still unconfirmed: the batch is
    pushed again on a new connection, not lost and not stored in the database."""
    assert click(client, email_links[0]).status_code == 302
    flush_pushes()
    push_connection = thread_pusher(settings.REDIS_URL).client.client_id()
    assert click(client, email_links[0]).status_code == 302  # pending in the batch
    use_redis.client_kill_filter(_id=push_connection)
    assert click(client, email_links[1]).status_code == 302
    flush_pushes()
    assert not Event.objects.exists()  # all three went to Redis, none to the fallback
    # (A batch the kernel sent before the drop is in Redis twice: its uid counts it once.)
    drain_event_queue()
    assert Event.objects.filter(kind="click").count() == 3


@pytest.mark.services
def test_redis_error_reply_falls_back_to_database(client, use_redis, email_links, settings):
    use_redis.set(settings.ANALYTICS_QUEUE_KEY, "not a list")  # RPUSH answers WRONGTYPE
    assert click(client, email_links[0]).status_code == 302
    assert click(client, email_links[1]).status_code == 302
    flush_pushes()
    assert Event.objects.filter(kind="click").count() == 2


# --- The push is written before the response, its batch confirmed after it -------------


def _payload(link, uid):
    return {"u": uid, "k": "click", "t": timezone.now().timestamp(), "l": link.pk}


@pytest.mark.services
def test_a_full_batch_is_confirmed_by_the_end_of_its_request(
    client, use_redis, email_links, settings
):
    settings.ANALYTICS_PUSH_BATCH = 3  # this thread's next push makes a new pusher
    for _ in range(2):
        assert click(client, email_links[0]).status_code == 302
    pusher = thread_pusher(settings.REDIS_URL)
    assert pusher.corked
    assert len(pusher.pending) == 2  # written, not yet answered
    assert click(client, email_links[0]).status_code == 302
    # request_finished read the batch's replies: nothing is left waiting.
    assert pusher.pending == []
    assert use_redis.llen(settings.ANALYTICS_QUEUE_KEY) == 3


@pytest.mark.services
def test_batched_pushes_reach_redis_together_in_order(use_redis, email_links, settings):
    first, second = _payload(email_links[0], "a" * 32), _payload(email_links[0], "b" * 32)
    enqueue_event(first, confirm_after_response=True)
    enqueue_event(second, confirm_after_response=True)
    pusher = thread_pusher(settings.REDIS_URL)
    confirm_pushes()  # neither full nor old: the batch waits
    assert pusher.pending == [first, second]
    flush_pushes()
    assert pusher.pending == []
    queued = [
        json.loads(item)["u"] for item in use_redis.lrange(settings.ANALYTICS_QUEUE_KEY, 0, -1)
    ]
    assert queued == ["a" * 32, "b" * 32]


@pytest.mark.services
def test_without_batching_each_push_is_confirmed_before_the_next(use_redis, email_links, settings):
    settings.ANALYTICS_PUSH_BATCH = 1  # this thread's next push makes a new pusher
    first, second = _payload(email_links[0], "a" * 32), _payload(email_links[0], "b" * 32)
    enqueue_event(first, confirm_after_response=True)
    pusher = thread_pusher(settings.REDIS_URL)
    assert not pusher.corked
    enqueue_event(second, confirm_after_response=True)
    assert pusher.pending == [second]
    confirm_pushes()  # at the end of the request: always due
    assert pusher.pending == []
    assert use_redis.llen(settings.ANALYTICS_QUEUE_KEY) == 2


@pytest.mark.services
def test_an_idle_workers_batch_is_confirmed_by_the_confirmer_thread(
    client, use_redis, email_links, settings
):
    """A worker that answered one click and then gets no request: the process's
    confirmer thread sends and confirms the batch once it is ANALYTICS_PUSH_MAX_WAIT_MS
    old, not the next request."""
    settings.ANALYTICS_PUSH_MAX_WAIT_MS = 100
    CONFIRMER.release()  # batches wake the confirmer again
    started = time.monotonic()
    assert click(client, email_links[0]).status_code == 302
    pusher = thread_pusher(settings.REDIS_URL)
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
    enqueue_event(first, confirm_after_response=True)
    pusher = thread_pusher(settings.REDIS_URL)
    assert pusher.segment_bytes > 1000  # read from the socket (loopback: 32 kB or more)
    pusher.segment_bytes = 2 * len(pusher.commands([first]))  # two pushes per segment
    enqueue_event(second, confirm_after_response=True)
    assert pusher.pending == [first, second]
    assert not pusher.batch_left_the_socket()  # the kernel holds both, corked
    enqueue_event(third, confirm_after_response=True)
    assert pusher.pending == [third]  # the first two were confirmed before it went in
    assert use_redis.llen(key) == 2
    big = {**_payload(email_links[0], "d" * 32), "a": "x" * pusher.segment_bytes}
    enqueue_event(big, confirm_after_response=True)
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
    enqueue_event(_payload(email_links[0], "a" * 32), confirm_after_response=True)
    flush_pushes()
    assert Event.objects.filter(uid="a" * 32).exists()  # refused, stored directly
    use_redis.delete(key)
    enqueue_event(_payload(email_links[0], "b" * 32), confirm_after_response=True)
    confirm_pushes()  # a batch of one, due at once for a while
    assert thread_pusher(settings.REDIS_URL).pending == []
    assert use_redis.llen(key) == 1


@pytest.mark.services
def test_clicks_written_before_redis_went_away_are_stored(use_redis, email_links, settings, caplog):
    """The push connection drops and Redis cannot be reached again: the click being
    pushed is stored directly, and so is the batch written before it."""
    enqueue_event(_payload(email_links[0], "a" * 32), confirm_after_response=True)
    pusher = thread_pusher(settings.REDIS_URL)
    pusher.url = "redis://127.0.0.1:1/0"  # where it will try to reconnect
    pusher.sock.shutdown(socket.SHUT_RDWR)
    enqueue_event(_payload(email_links[0], "b" * 32), confirm_after_response=True)
    assert sorted(Event.objects.values_list("uid", flat=True)) == ["a" * 32, "b" * 32]
    assert pusher.pending == []


def _run_pushing_process(settings, body: str) -> subprocess.CompletedProcess:
    """Run `body` in a fresh Python process whose event queue is this test's, as a web
    worker would be (django set up, the event pusher imported), with the
    confirmer thread kept away so that nothing confirms a batch behind the test's back."""
    lines = [
        "import os, signal, sys, threading, time, django",
        "django.setup()",
        "from django.conf import settings",
        "settings.REDIS_URL, settings.ANALYTICS_QUEUE_KEY = sys.argv[1:3]",
        "import analytics.pusher",
        "from analytics.pusher import CONFIRMER, enqueue_event, flush_pushes, thread_pusher,"
        " thread_pushers",
        "CONFIRMER.hold()",
        "def click(uid):",
        "    enqueue_event({'u': uid, 'k': 'click', 't': 1.0}, confirm_after_response=True)",
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
        "analytics.pusher.store_events = lambda payloads: print('stored', *[p['u'] for p in payloads])\n"
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
        "assert thread_pusher(settings.REDIS_URL).corked\n"
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
pusher = thread_pusher(settings.REDIS_URL)
deadline = time.monotonic() + 5
while not pusher.batch_left_the_socket() and time.monotonic() < deadline:
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
flush_pushes()
pusher = thread_pusher(settings.REDIS_URL)
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
parent = thread_pusher(settings.REDIS_URL)
child = os.fork()
if child == 0:
    ok = not thread_pushers() and not CONFIRMER.pushers
    click('c' * 32)
    ok = ok and thread_pusher(settings.REDIS_URL) is not parent
    flush_pushes()
    os._exit(0 if ok else 3)
_, status = os.waitpid(child, 0)
assert os.waitstatus_to_exitcode(status) == 0, status
assert [p['u'][0] for p in parent.pending] == ['p']  # untouched by the child
flush_pushes()
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
    settings.ANALYTICS_PUSH_BATCH = batch  # this thread's next push makes a new pusher
    woken = []
    monkeypatch.setattr(CONFIRMER, "batch_started", woken.append)
    for uid in ("a" * 32, "b" * 32):  # one batch of two, or two batches of one
        enqueue_event(_payload(email_links[0], uid), confirm_after_response=True)
        confirm_pushes()
    assert len(woken) == wakeups
    flush_pushes()
    assert use_redis.llen(settings.ANALYTICS_QUEUE_KEY) == 2


@pytest.mark.services
def test_reply_that_times_out_is_stored_once_and_the_next_click_queued(
    client, use_redis, email_links, settings, monkeypatch
):
    """Redis stalls (paused here): the reply does not come in time, so the click is
    stored in the database after its 302; whatever Redis does with the push later, the
    drain counts it once. The next click goes to Redis on a new connection."""
    monkeypatch.setattr("analytics.pusher.PUSH_TIMEOUT_SECONDS", 0.3)
    # Each click confirmed at the end of its request; the setting also gives this
    # thread a new pusher, which connects with that timeout.
    settings.ANALYTICS_PUSH_BATCH = 1
    use_redis.client_pause(1000, all=False)  # write commands wait a second
    started = time.monotonic()
    assert click(client, email_links[0]).status_code == 302
    assert time.monotonic() - started < 0.9  # gave up at the timeout, not at the unpause
    assert Event.objects.filter(kind="click").count() == 1
    time.sleep(max(0.0, 1.1 - (time.monotonic() - started)))  # the pause is over
    drain_event_queue()
    assert Event.objects.filter(kind="click").count() == 1
    assert click(client, email_links[1]).status_code == 302
    assert use_redis.llen(settings.ANALYTICS_QUEUE_KEY) == 1
    assert Event.objects.filter(kind="click").count() == 1
