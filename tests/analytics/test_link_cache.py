"""Resolving codes on the redirect's hot path: a bounded per-process cache, warmed by
the gunicorn master before it forks."""

import pytest

from analytics.link_cache import LINK_CACHE, resolve_link_code, warm_link_cache
from analytics.models import Event
from tests.analytics.conftest import FIREFOX


@pytest.fixture
def small_cache(settings):
    """The process's link cache, bounded to two links (it follows the setting)."""
    settings.ANALYTICS_LINK_CACHE_SIZE = 2
    assert LINK_CACHE.max_size == 2
    return LINK_CACHE


def test_warmed_cache_answers_the_newest_links_without_the_database(
    links, small_cache, django_assert_num_queries
):
    assert warm_link_cache() == 2
    a, b, c = links
    with django_assert_num_queries(0):
        assert resolve_link_code(c.code) == (c.pk, c.destination)
        assert resolve_link_code(b.code) == (b.pk, b.destination)
    with django_assert_num_queries(1):  # older than what fits: still resolves
        assert resolve_link_code(a.code) == (a.pk, a.destination)


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
        assert resolve_link_code(link.code) == (link.pk, link.destination)
    with django_assert_num_queries(0):  # cached
        assert resolve_link_code(link.code) == (link.pk, link.destination)


def test_unknown_and_malformed_codes_are_none_and_not_cached(links, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert resolve_link_code("short") is None
        assert resolve_link_code("AAAAAAAA.AAAAAAA") is None
        assert resolve_link_code("") is None
    for _ in range(2):
        with django_assert_num_queries(1):  # asked again each time
            assert resolve_link_code("A" * 16) is None
    assert "A" * 16 not in LINK_CACHE


def test_link_cache_is_bounded_and_keeps_the_recently_used(
    links, small_cache, django_assert_num_queries
):
    a, b, c = links
    resolve_link_code(a.code)
    resolve_link_code(b.code)
    resolve_link_code(a.code)  # a is now the most recently used
    resolve_link_code(c.code)  # evicts b, the least recently used
    assert len(small_cache) == 2
    with django_assert_num_queries(0):
        assert resolve_link_code(a.code) == (a.pk, a.destination)
        assert resolve_link_code(c.code) == (c.pk, c.destination)
    with django_assert_num_queries(1):
        assert resolve_link_code(b.code) == (b.pk, b.destination)
    assert len(small_cache) == 2


def test_redirect_works_past_the_cache_bound(client, links, small_cache):
    for _ in range(2):
        for link in links:
            response = client.get(f"/t/{link.code}", HTTP_USER_AGENT=FIREFOX)
            assert response.status_code == 302
            assert response["Location"] == link.destination
    assert len(small_cache) == 2
    assert Event.objects.filter(kind="click").count() == 6
