"""The tracking views: the redirect answers 302 only to the stored destination and
everything else is 404; the open pixel; the page-view beacon."""

import pytest

from analytics.links import tracked_url
from analytics.models import Event, TrackedLink
from analytics.tokens import message_token


@pytest.fixture
def link(blog_publication):
    tracked_url("https://shop.example.com/spring", publication=blog_publication)
    return TrackedLink.objects.get()


def test_redirects_to_stored_destination_and_records_click(client, link):
    response = client.get(f"/t/{link.code}", HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux) Firefox/140")
    assert response.status_code == 302
    assert response["Location"] == link.destination
    assert response["Cache-Control"] == "no-store"
    event = Event.objects.get()  # no REDIS_URL: stored straight away
    assert (event.kind, event.link_id, event.is_bot) == ("click", link.pk, False)
    assert event.campaign_id == link.campaign_id and event.channel == "blog"
    assert event.visitor_hash and "127.0.0.1" not in event.visitor_hash


def test_query_string_never_changes_destination(client, link):
    response = client.get(f"/t/{link.code}?url=https://evil.com&next=//evil.com&m=junk")
    assert response.status_code == 302
    assert response["Location"] == link.destination
    assert Event.objects.get().message_key == ""  # an invalid token is ignored


HOSTILE_PATHS = [
    "/t/",
    "/t//evil.com",
    "/t///evil.com",
    "/t/https:evil.com",
    "/t/https://evil.com",
    "/t/%2F%2Fevil.com",
    "/t/%5C%5Cevil.com",
    "/t/\\\\evil.com",
    "/t/javascript:alert(1)",
    "/t/javascript%3Aalert(1)",
    "/t/%0d%0aLocation:%20https://evil.com",
    "/t/abc%0D%0ASet-Cookie:x=1",
    "/t/http%3A%2F%2Fevil.com",
    "/t/%252F%252Fevil.com",
    "/t/AAAAAAAAAAAAAAAA",  # well-formed, unknown
    "/t/AAAAAAAAAAAAAAAAA",  # too long
    "/t/AAAAAAAAAAAAAAA",  # too short
    "/t/AAAAAAAA.AAAAAAA",
]


@pytest.mark.parametrize("path", HOSTILE_PATHS)
def test_hostile_paths_are_plain_404(client, link, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "Location" not in response
    assert b"evil" not in response.content
    assert not Event.objects.exists()


def test_tampered_codes_are_404(client, link):
    code = link.code
    variants = {
        code[:-1] + ("B" if code[-1] != "B" else "C"),
        code.upper() if code.upper() != code else code.lower(),
        code + "/",
        code + "/https://evil.com",
        code + "%00",
        code + "%0d%0a",
        code[1:],
        " " + code,
    }
    variants.discard(code)
    for variant in variants:
        response = client.get(f"/t/{variant}")
        assert response.status_code == 404, variant
        assert "Location" not in response
    assert not Event.objects.exists()


def test_post_is_refused(client, link):
    assert client.post(f"/t/{link.code}").status_code == 405


def test_head_redirects_but_counts_as_bot(client, link):
    response = client.head(f"/t/{link.code}", HTTP_USER_AGENT="Mozilla/5.0 Firefox/140")
    assert response.status_code == 302
    event = Event.objects.get()
    assert event.is_bot and event.bot_reason == "head_request"


def test_message_token_attributes_click(client, link, blog_publication):
    token = message_token(blog_publication.pk, "r1")
    client.get(f"/t/{link.code}?m={token}", HTTP_USER_AGENT="Mozilla/5.0 Firefox/140")
    assert Event.objects.get().message_key == f"{blog_publication.pk}:r1"


def test_token_of_other_publication_is_ignored(client, link, email_publication):
    token = message_token(email_publication.pk, "r1")
    client.get(f"/t/{link.code}?m={token}", HTTP_USER_AGENT="Mozilla/5.0 Firefox/140")
    assert Event.objects.get().message_key == ""


def test_open_pixel(client, email_publication):
    token = message_token(email_publication.pk, "r9")
    response = client.get(f"/t/o/{token}", HTTP_USER_AGENT="Mozilla/5.0 Thunderbird/140")
    assert response.status_code == 200 and response["Content-Type"] == "image/gif"
    event = Event.objects.get()
    assert (event.kind, event.publication_id, event.channel) == (
        "open",
        email_publication.pk,
        "email",
    )
    # A forged token still gets an image but records nothing.
    assert client.get("/t/o/Zm9v.AAAAAAAAAAAAAAAA").status_code == 200
    assert Event.objects.count() == 1


def test_beacon_classifies_referrer(client, post):
    response = client.post(
        "/a/pv",
        {"p": str(post.pk), "r": "https://www.baidu.com/s?wd=春季促销", "u": "https://hub/x"},
        HTTP_USER_AGENT="Mozilla/5.0 Chrome/140",
    )
    assert response.status_code == 204
    event = Event.objects.get()
    assert (event.kind, event.page_id, event.referrer_class) == ("pageview", post.pk, "organic")
    assert (event.search_engine, event.search_query) == ("baidu", "春季促销")
    assert client.post("/a/pv", {"p": "x"}).status_code == 400
    assert client.get("/a/pv").status_code == 405
