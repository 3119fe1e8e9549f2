"""The cheap redirect path keeps its guarantees: bounded link cache, the same bot flags
and visitor hashes, the click written to Redis's socket before the 302."""

import datetime
import re

import pytest
import time_machine

from analytics import classify, services
from analytics.models import DailySalt, Event, TrackedLink
from tests.analytics.conftest import new_pushers

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"


@pytest.fixture
def links(blog_publication):
    for i in range(3):
        services.tracked_url(f"https://shop.example.com/p/{i}", publication=blog_publication)
    return list(TrackedLink.objects.order_by("pk"))


@pytest.fixture
def small_cache(monkeypatch):
    cache = services.LinkCache(2)
    monkeypatch.setattr(services, "_LINK_CACHE", cache)
    return cache


# --- Link lookup -------------------------------------------------------------------------


def test_warmed_cache_answers_the_newest_links_without_the_database(
    links, small_cache, django_assert_num_queries, monkeypatch
):
    monkeypatch.setattr(services, "LINK_CACHE_SIZE", 2)
    assert services.warm_link_cache() == 2
    a, b, c = links
    with django_assert_num_queries(0):
        assert services.resolve_link_code(c.code) == (c.pk, c.destination)
        assert services.resolve_link_code(b.code) == (b.pk, b.destination)
    with django_assert_num_queries(1):  # older than what fits: still resolves
        assert services.resolve_link_code(a.code) == (a.pk, a.destination)


@pytest.mark.django_db(transaction=True)  # a connection inside a test's atomic never closes
def test_gunicorn_master_hook_warms_then_closes_its_connections(links, small_cache):
    from django.db import connection

    from deploy.gunicorn_hooks import when_ready

    when_ready(server=None)
    assert links[-1].code in small_cache
    # Forked workers must open their own database connections.
    assert connection.connection is None


def test_lookup_returns_id_and_stored_destination(links, django_assert_num_queries):
    link = links[1]
    with django_assert_num_queries(1):
        assert services.resolve_link_code(link.code) == (link.pk, link.destination)
    with django_assert_num_queries(0):  # cached
        assert services.resolve_link_code(link.code) == (link.pk, link.destination)


def test_unknown_and_malformed_codes_are_none_and_not_cached(links, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert services.resolve_link_code("short") is None
        assert services.resolve_link_code("AAAAAAAA.AAAAAAA") is None
        assert services.resolve_link_code("") is None
    for _ in range(2):
        with django_assert_num_queries(1):  # asked again each time
            assert services.resolve_link_code("A" * 16) is None
    assert "A" * 16 not in services._LINK_CACHE


def test_link_cache_is_bounded_and_keeps_the_recently_used(
    links, small_cache, django_assert_num_queries
):
    a, b, c = links
    services.resolve_link_code(a.code)
    services.resolve_link_code(b.code)
    services.resolve_link_code(a.code)  # a is now the most recently used
    services.resolve_link_code(c.code)  # evicts b, the least recently used
    assert len(small_cache) == 2
    with django_assert_num_queries(0):
        assert services.resolve_link_code(a.code) == (a.pk, a.destination)
        assert services.resolve_link_code(c.code) == (c.pk, c.destination)
    with django_assert_num_queries(1):
        assert services.resolve_link_code(b.code) == (b.pk, b.destination)
    assert len(small_cache) == 2


def test_redirect_works_past_the_cache_bound(client, links, small_cache):
    for _ in range(2):
        for link in links:
            response = client.get(f"/t/{link.code}", HTTP_USER_AGENT=FIREFOX)
            assert response.status_code == 302
            assert response["Location"] == link.destination
    assert len(small_cache) == 2
    assert Event.objects.filter(kind="click").count() == 6


# --- Bot flags -----------------------------------------------------------------------------

# What the classifier matched before it was cached and split by ASCII: the reference.
REFERENCE_BOT_RE = re.compile("|".join(classify.BOT_PATTERNS), re.IGNORECASE)

USER_AGENTS = [
    FIREFOX,
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/140.0.0.0 Safari/537.36 Edg/140.0.0.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.50",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "MOZILLA/5.0 (COMPATIBLE; BINGBOT/2.0)",
    "Mozilla/5.0 (compatible; Baiduspider-render/2.0)",
    "curl/8.5.0",
    "CURL/8.5.0",
    "Mozilla/5.0 curl/8.5.0",  # ^curl/ is anchored: not a bot by that pattern
    "Wget/1.21",
    "Python-Requests/2.32",
    "Go-http-client/2.0",
    "Java/21.0.2",
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
    "Mozilla/5.0 (via ggpht com)",  # the dot is literal
    "Mozilla/4.0 (compatible; ms-office; MSOffice 16)",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.5)",
    "Barracuda Sentinel (EE)",
    "Mozilla/5.0 Robot",
    "Mozilla/5.0 robotics-lab-browser",  # "bot" inside a word
    "Mozilla/5.0 bot-checker",
    "Mozilla/5.0 (Linux; Android 14) Chrome/140 Mobile Safari/537.36 公司浏览器",
    "Mozilla/5.0 ſcanner",  # long s: only case folding matches it to "scan"
    "Mozilla/5.0 SCAN",
    "Mozilla/5.0 Ünïcödé HeadlessChrome/120",
    "Mozilla/5.0 (compatible; YandexBot/3.0)",
    "facebookexternalhit/1.1",
    "WhatsApp/2.24",
    "Slackbot-LinkExpanding 1.0",
    "Mozilla/5.0 (X11; Linux x86_64) PhantomJS/2.1.1",
    "x" * 300,
]


@pytest.mark.parametrize("user_agent", USER_AGENTS)
def test_bot_flags_match_the_reference(user_agent):
    expected = "user_agent" if REFERENCE_BOT_RE.search(user_agent) else ""
    assert classify.bot_reason_for_request(user_agent) == expected
    assert classify.bot_reason_for_request(user_agent) == expected  # from the cache now


def test_user_agent_verdicts_are_cached_and_bounded():
    classify.user_agent_is_bot.cache_clear()
    for _ in range(3):
        classify.bot_reason_for_request(FIREFOX)
    info = classify.user_agent_is_bot.cache_info()
    assert (info.hits, info.misses) == (2, 1)
    assert info.maxsize == classify.USER_AGENT_CACHE_SIZE
    for i in range(classify.USER_AGENT_CACHE_SIZE + 10):
        classify.bot_reason_for_request(f"{FIREFOX} build/{i}")
    assert classify.user_agent_is_bot.cache_info().currsize == classify.USER_AGENT_CACHE_SIZE


def test_prefetch_headers_are_read_from_the_request(client, links):
    link = links[0]
    client.get(f"/t/{link.code}", HTTP_USER_AGENT=FIREFOX, HTTP_SEC_PURPOSE="prefetch")
    client.get(f"/t/{link.code}", HTTP_USER_AGENT=FIREFOX, HTTP_PURPOSE="prefetch")
    client.get(f"/t/{link.code}", HTTP_USER_AGENT=FIREFOX, HTTP_X_MOZ="prefetch")
    client.get(f"/t/{link.code}", HTTP_USER_AGENT="  ")
    client.get(f"/t/{link.code}", HTTP_USER_AGENT=FIREFOX)
    reasons = list(Event.objects.order_by("pk").values_list("bot_reason", flat=True))
    assert reasons == ["prefetch", "prefetch", "prefetch", "no_user_agent", ""]


# --- Visitor hash ----------------------------------------------------------------------------

MIDNIGHT = datetime.datetime(2026, 11, 3, tzinfo=datetime.UTC)


def test_visitor_hash_uses_the_salt_of_the_click_day(client, links):
    link = links[0]
    for moment in (
        MIDNIGHT - datetime.timedelta(milliseconds=1),
        MIDNIGHT,
        MIDNIGHT + datetime.timedelta(hours=23),
        MIDNIGHT - datetime.timedelta(hours=1),  # clocks may go back: still the right day
    ):
        with time_machine.travel(moment, tick=False):
            client.get(f"/t/{link.code}", HTTP_USER_AGENT=FIREFOX, REMOTE_ADDR="10.0.0.9")
    hashes = list(Event.objects.order_by("pk").values_list("visitor_hash", flat=True))
    before, after = MIDNIGHT.date() - datetime.timedelta(days=1), MIDNIGHT.date()
    assert hashes == [
        services.visitor_hash("10.0.0.9", FIREFOX, before),
        services.visitor_hash("10.0.0.9", FIREFOX, after),
        services.visitor_hash("10.0.0.9", FIREFOX, after),
        services.visitor_hash("10.0.0.9", FIREFOX, before),
    ]
    assert hashes[0] != hashes[1]
    assert set(DailySalt.objects.values_list("day", flat=True)) == {before, after}


def test_event_ids_are_unique_hex(client, links):
    for _ in range(20):
        client.get(f"/t/{links[0].code}", HTTP_USER_AGENT=FIREFOX)
    uids = list(Event.objects.values_list("uid", flat=True))
    assert len(set(uids)) == 20
    assert all(re.fullmatch(r"[0-9a-f]{32}", uid) for uid in uids)


# --- Durable queueing --------------------------------------------------------------------------


@pytest.mark.services
def test_clicks_reach_redis_with_their_batch(client, use_redis, links, settings, monkeypatch):
    settings.ANALYTICS_PUSH_BATCH = 2
    new_pushers(monkeypatch)
    key = settings.ANALYTICS_QUEUE_KEY
    for _ in range(2):
        response = client.get(f"/t/{links[0].code}?m=x", HTTP_USER_AGENT=FIREFOX)
        assert response.status_code == 302
    assert use_redis.llen(key) == 2  # the second click filled the batch
    assert not Event.objects.exists()
    assert services.drain_event_queue() == 2
    assert Event.objects.filter(kind="click", link_id=links[0].pk).count() == 2


@pytest.mark.services
def test_a_connection_closed_by_redis_is_reopened(client, use_redis, links, settings):
    key = settings.ANALYTICS_QUEUE_KEY
    assert client.get(f"/t/{links[0].code}", HTTP_USER_AGENT=FIREFOX).status_code == 302
    services.flush_pushes()
    # Redis restarts or drops idle clients: every other connection goes away.
    use_redis.client_kill_filter(_type="normal", skipme=True)
    assert client.get(f"/t/{links[1].code}", HTTP_USER_AGENT=FIREFOX).status_code == 302
    services.flush_pushes()
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
    assert services.drain_event_queue() == 0
    assert not Event.objects.exists()


def test_redis_down_still_redirects_and_stores(client, settings, links):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    assert _click(client, links[0]).status_code == 302
    assert _click(client, links[0]).status_code == 302  # from the process cache now
    assert _click(client, "A" * 16).status_code == 404
    assert Event.objects.filter(link_id=links[0].pk).count() == 2
