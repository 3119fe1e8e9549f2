"""Tracked links: destinations, UTM, idempotent creation, rewriting HTML; and creating
them starts nothing of the request path."""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from analytics.links import InvalidDestination, merge_utm, rewrite_links, tracked_url
from analytics.models import TrackedLink

ROOT = Path(__file__).resolve().parents[2]


def test_merge_utm_keeps_existing_parameters_verbatim():
    url = merge_utm(
        "https://shop.example.com/p?a=b%20c&utm_source=partner#top",
        source="blog",
        medium="referral",
        campaign="spring-sale",
        content="42",
    )
    parts = urlsplit(url)
    assert parts.query.startswith("a=b%20c&utm_source=partner&")
    qs = parse_qs(parts.query)
    assert qs["utm_source"] == ["partner"]  # the author's own value wins
    assert qs["utm_medium"] == ["referral"]
    assert qs["utm_campaign"] == ["spring-sale"]
    assert qs["utm_content"] == ["42"]
    assert parts.fragment == "top"


def test_tracked_url_stores_destination_with_utm_and_reuses_link(blog_publication):
    url = tracked_url("https://shop.example.com/spring?x=1", publication=blog_publication)
    assert url.startswith("https://hub.example.com/t/")
    link = TrackedLink.objects.get()
    assert url.endswith(link.code) and len(link.code) == 16
    qs = parse_qs(urlsplit(link.destination).query)
    assert qs == {
        "x": ["1"],
        "utm_source": ["blog"],
        "utm_medium": ["referral"],
        "utm_campaign": ["spring-sale"],
        "utm_content": [str(blog_publication.page_id)],
    }
    assert link.campaign == blog_publication.campaign
    assert link.channel == "blog"
    again = tracked_url("https://shop.example.com/spring?x=1", publication=blog_publication)
    assert again == url
    assert TrackedLink.objects.count() == 1


def test_codes_are_distinct_per_publication(blog_publication, email_publication):
    a = tracked_url("https://shop.example.com/", publication=blog_publication)
    b = tracked_url("https://shop.example.com/", publication=email_publication)
    assert a != b
    email_link = TrackedLink.objects.get(publication=email_publication)
    assert "utm_medium=email" in email_link.destination


@pytest.mark.parametrize(
    "bad",
    [
        "javascript:alert(1)",
        "//evil.com",
        "https:evil.com",
        "https:\\\\evil.com",
        "https://evil.com\r\nSet-Cookie: x=1",
        "https://user@evil.com/",
        "ftp://example.com/",
        "/relative/path",
        "",
        "data:text/html,hi",
    ],
)
def test_invalid_destinations_are_refused(db, bad):
    with pytest.raises(InvalidDestination):
        tracked_url(bad)
    assert not TrackedLink.objects.exists()


def test_rewrite_links_only_touches_http_links(blog_publication):
    html = (
        '<p><a href="https://a.example.com/x?y=1&amp;z=2">A</a> '
        "<a class='c' href='http://b.example.com/'>B</a> "
        '<a href="mailto:me@example.com">mail</a> <a href="/local">local</a> '
        '<a href="{{ unsubscribe_url }}">unsub</a> <a href="javascript:alert(1)">js</a> '
        '<a href="https://a.example.com/x?y=1&amp;z=2">A again</a></p>'
    )
    out = rewrite_links(html, publication=blog_publication)
    assert out.count("https://hub.example.com/t/") == 3
    assert 'href="mailto:me@example.com"' in out
    assert 'href="/local"' in out
    assert 'href="{{ unsubscribe_url }}"' in out
    assert 'href="javascript:alert(1)"' in out
    assert "class='c' href='https://hub.example.com/t/" in out
    assert TrackedLink.objects.count() == 2
    first = TrackedLink.objects.get(original_url="https://a.example.com/x?y=1&z=2")
    assert first.destination.startswith("https://a.example.com/x?y=1&z=2&utm_source=blog")
    # Already tracked links are not wrapped again.
    assert rewrite_links(out, publication=blog_publication) == out


def test_creating_links_starts_no_thread_and_no_pusher():
    """What the email, render and channel code import to make links and tokens must not
    bring in the request path's event pusher (its fork hook, its confirmer thread):
    only a process serving the tracking views carries that."""
    script = """
import os, sys, threading, django
registered = []
real_register_at_fork = os.register_at_fork
def recording_register_at_fork(**hooks):
    registered.append(hooks)
    real_register_at_fork(**hooks)
os.register_at_fork = recording_register_at_fork
django.setup()
threads_before = threading.active_count()
import analytics.events, analytics.links, analytics.tokens
from analytics.links import tracked_url
from analytics.tokens import message_token, open_pixel_url
assert threading.active_count() == threads_before, threading.enumerate()
assert "analytics.pusher" not in sys.modules, "importing link creation imported the pusher"
hooks = [h for hooks in registered for h in hooks.values()]
assert not [h for h in hooks if (h.__module__ or "").startswith("analytics")], hooks
print("ok")
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": os.environ["DJANGO_SETTINGS_MODULE"]},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
