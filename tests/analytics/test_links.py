from urllib.parse import parse_qs, urlsplit

import pytest

from analytics import services
from analytics.models import TrackedLink


def test_merge_utm_keeps_existing_parameters_verbatim():
    url = services.merge_utm(
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
    url = services.tracked_url("https://shop.example.com/spring?x=1", publication=blog_publication)
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
    again = services.tracked_url(
        "https://shop.example.com/spring?x=1", publication=blog_publication
    )
    assert again == url
    assert TrackedLink.objects.count() == 1


def test_codes_are_distinct_per_publication(blog_publication, email_publication):
    a = services.tracked_url("https://shop.example.com/", publication=blog_publication)
    b = services.tracked_url("https://shop.example.com/", publication=email_publication)
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
    with pytest.raises(services.InvalidDestination):
        services.tracked_url(bad)
    assert not TrackedLink.objects.exists()


def test_rewrite_links_only_touches_http_links(blog_publication):
    html = (
        '<p><a href="https://a.example.com/x?y=1&amp;z=2">A</a> '
        "<a class='c' href='http://b.example.com/'>B</a> "
        '<a href="mailto:me@example.com">mail</a> <a href="/local">local</a> '
        '<a href="{{ unsubscribe_url }}">unsub</a> <a href="javascript:alert(1)">js</a> '
        '<a href="https://a.example.com/x?y=1&amp;z=2">A again</a></p>'
    )
    out = services.rewrite_links(html, publication=blog_publication)
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
    assert services.rewrite_links(out, publication=blog_publication) == out


def test_message_token_round_trip_and_tampering(settings):
    token = services.message_token(12, "sub-7")
    assert services.parse_message_token(token) == (12, "sub-7")
    payload, sig = token.split(".")
    assert services.parse_message_token(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    forged = services._b64(b"13:sub-7") + "." + sig
    assert services.parse_message_token(forged) is None
    assert services.parse_message_token("") is None
    assert services.parse_message_token("x" * 1000) is None
    assert services.open_pixel_url(token) == f"https://hub.example.com/t/o/{token}"
    # Still valid after a key rotation when the old key is a fallback.
    old = settings.SECRET_KEY
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "new-key-" + "x" * 40, [old]
    assert services.parse_message_token(token) == (12, "sub-7")
