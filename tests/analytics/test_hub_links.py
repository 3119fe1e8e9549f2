"""Outbound links on the hub's own pages: every off-site link of every page type is the
page's tracked link, created once; internal links stay direct; a click after arriving
through a campaign's link counts for that campaign (signed visit cookie), one without
it, or with a forged or expired cookie, for the page only."""

import datetime
import re
import time
from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from analytics import dashboards, rollups
from analytics.draining import drain_event_queue
from analytics.links import tracked_url
from analytics.models import Event, TrackedLink
from analytics.pusher import flush_pushes
from analytics.visits import VISIT_COOKIE
from content.models import BlogIndexPage, EZineIssuePage, EZinePage, HomePage
from tests.factories import (
    ChannelAccountFactory,
    PublicationFactory,
    add_child,
    make_blog,
    make_email_issue,
    make_post,
    make_soft_article,
)

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"
TRACKED_RE = re.compile(r'href="https://hub\.example\.com/t/([A-Za-z0-9_-]{16})"')

# Links that must stay exactly as written: relative, anchors, mail, phone, our own host
# (SITE_BASE_URL's, with or without a port, and the host the page is served on).
INTERNAL = [
    "/blog/",
    "#top",
    "mailto:editor@example.com",
    "tel:+862112345678",
    "https://hub.example.com/about/",
    "http://hub.example.com:8100/about/",
    "http://testserver/blog/",
    "//hub.example.com/x",
]


def links_html(*external: str) -> str:
    anchors = [f'<a href="{url}">{i}</a>' for i, url in enumerate([*external, *INTERNAL])]
    return "<p>" + " ".join(anchors) + "</p>"


def cta(url: str) -> tuple:
    return ("call_to_action", {"text": "Buy now", "url": url})


def page_with_links(kind: str, home: HomePage):
    """A live page of each type we serve, with off-site links in every place it has."""
    if kind == "home":
        home.intro = links_html("https://home.example.org/")
        home.save_revision().publish()
        return home
    if kind == "blog_index":
        return add_child(
            home,
            BlogIndexPage(title="News", slug="news", intro=links_html("https://idx.example.org/")),
        )
    blog = make_blog(home)
    if kind == "blog_post":
        return make_post(
            blog,
            body=[
                ("paragraph", links_html("https://shop.example.com/spring")),
                cta("https://shop.example.com/buy?x=1&y=2"),
                ("html", '<p><a href="https://raw.example.net/a">raw</a></p>'),
            ],
        )
    if kind == "soft_article":
        return make_soft_article(
            blog,
            sponsor_url="https://sponsor.example.com/",
            body=[
                ("paragraph", links_html("https://acme.example.com/blender")),
                cta("https://acme.example.com/cta"),
            ],
        )
    if kind == "email_issue":
        return make_email_issue(
            home,
            body=[
                ("paragraph", links_html("https://news.example.com/read")),
                ("button", {"text": "Read more", "url": "https://news.example.com/more"}),
            ],
        )
    if kind == "ezine":
        return add_child(
            home,
            EZinePage(
                title="Weekly", slug="weekly", description=links_html("https://ez.example.org/")
            ),
        )
    ezine = add_child(home, EZinePage(title="Weekly", slug="weekly"))
    return add_child(
        ezine,
        EZineIssuePage(
            title="Issue one",
            slug="one",
            issue_number=1,
            issue_date=datetime.date(2026, 12, 1),
            editorial=links_html("https://editorial.example.org/"),
            body=[cta("https://partner.example.org/offer")],
        ),
    )


EXPECTED = {
    "home": {"https://home.example.org/"},
    "blog_index": {"https://idx.example.org/"},
    "blog_post": {
        "https://shop.example.com/spring",
        "https://shop.example.com/buy?x=1&y=2",
        "https://raw.example.net/a",
    },
    "soft_article": {
        "https://sponsor.example.com/",
        "https://acme.example.com/blender",
        "https://acme.example.com/cta",
    },
    "email_issue": {"https://news.example.com/read", "https://news.example.com/more"},
    "ezine": {"https://ez.example.org/"},
    "ezine_issue": {"https://editorial.example.org/", "https://partner.example.org/offer"},
}


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_every_off_site_link_of_every_page_type_is_tracked(client, home_page, kind):
    page = page_with_links(kind, home_page)
    response = client.get(page.url)
    assert response.status_code == 200
    html = response.content.decode()
    codes = TRACKED_RE.findall(html)
    links = {link.code: link for link in TrackedLink.objects.filter(code__in=codes)}
    assert {links[c].original_url for c in codes} == EXPECTED[kind]
    assert all(link.page_id == page.pk and link.channel == "hub" for link in links.values())
    assert all(link.campaign_id is None and link.publication_id is None for link in links.values())
    for url in EXPECTED[kind]:  # no off-site URL left direct anywhere in the page
        assert f'href="{url}"' not in html.replace("&amp;", "&")
    for code in codes:
        location = client.get(f"/t/{code}", HTTP_USER_AGENT=FIREFOX)["Location"]
        original = urlsplit(links[code].original_url)
        assert urlsplit(location)[:3] == original[:3]  # scheme, host and path as written
        assert location.startswith(links[code].original_url)  # its query kept, UTM added
        assert "utm_source=hub" in location and f"utm_content={page.pk}" in location
    internal_written = [u for u in INTERNAL if f'href="{u}"' in html]
    assert internal_written == INTERNAL  # every internal link left exactly as written


def test_second_view_reuses_the_links_and_writes_nothing(client, home_page):
    page = page_with_links("blog_post", home_page)
    first = client.get(page.url).content.decode()
    rows = TrackedLink.objects.count()
    assert rows == 3
    with CaptureQueriesContext(connection) as queries:
        second = client.get(page.url).content.decode()
    assert TRACKED_RE.findall(second) == TRACKED_RE.findall(first)
    assert TrackedLink.objects.count() == rows
    writes = [
        q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE"))
    ]
    assert writes == []


def test_the_same_url_on_two_pages_is_two_links(client, home_page):
    blog = make_blog(home_page)
    a = make_post(blog, title="A", body=[cta("https://shop.example.com/same")])
    b = make_post(blog, title="B", body=[cta("https://shop.example.com/same")])
    code_a = TRACKED_RE.findall(client.get(a.url).content.decode())
    code_b = TRACKED_RE.findall(client.get(b.url).content.decode())
    assert len(code_a) == len(code_b) == 1 and code_a != code_b
    assert {link.page_id for link in TrackedLink.objects.all()} == {a.pk, b.pk}


def test_invalid_off_site_links_stay_direct_and_the_page_renders(client, home_page):
    blog = make_blog(home_page)
    page = make_post(
        blog, body=[("html", '<p><a href="https://user:pw@evil.example.com/">x</a></p>')]
    )
    response = client.get(page.url)
    assert response.status_code == 200
    assert not TrackedLink.objects.exists()


def test_previews_keep_links_direct_and_store_none(home_page, rf):
    page = page_with_links("blog_post", home_page)
    response = page.make_preview_request()
    html = response.content.decode()
    assert 'href="https://shop.example.com/spring"' in html
    assert not TRACKED_RE.search(html)
    assert not TrackedLink.objects.exists()


# --- Campaign attribution ------------------------------------------------------------------


@pytest.fixture
def hub_post(home_page):
    return make_post(make_blog(home_page), body=[cta("https://sponsor.example.com/deal")])


@pytest.fixture
def email_to_hub(hub_post):
    """An email publication of another campaign whose tracked link leads to the post."""
    account = ChannelAccountFactory(kind="email/smtp")
    publication = PublicationFactory(
        page=make_email_issue(hub_post.get_parent().get_parent()),
        channel_account=account,
        campaign__slug="newsletter",
    )
    tracked_url(f"https://hub.example.com{hub_post.url}", publication=publication)
    return publication, TrackedLink.objects.get(publication=publication)


def hub_link(client, page) -> TrackedLink:
    (code,) = TRACKED_RE.findall(client.get(page.url).content.decode())
    return TrackedLink.objects.get(code=code)


def test_click_after_arriving_through_a_campaign_counts_for_it(client, hub_post, email_to_hub):
    publication, campaign_link = email_to_hub
    arrival = client.get(f"/t/{campaign_link.code}", HTTP_USER_AGENT=FIREFOX)
    assert arrival.status_code == 302 and urlsplit(arrival["Location"]).path == hub_post.url
    cookie = arrival.cookies[VISIT_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["secure"]
    assert cookie["path"] == "/" and int(cookie["max-age"]) == 30 * 86400
    # Two ids and a signature: nothing about the person.
    assert cookie.value.split(":", 1)[0] == f"{publication.campaign_id}.{publication.pk}"

    link = hub_link(client, hub_post)
    click = client.get(f"/t/{link.code}", HTTP_USER_AGENT=FIREFOX, REMOTE_ADDR="10.9.0.1")
    assert click.status_code == 302
    assert click["Location"].startswith("https://sponsor.example.com/deal")
    assert VISIT_COOKIE not in click.cookies  # an off-site destination sets nothing
    event = Event.objects.get(link_id=link.pk)
    assert (event.campaign_id, event.publication_id, event.page_id, event.channel) == (
        publication.campaign_id,
        publication.pk,
        hub_post.pk,
        "hub",
    )

    # ... and in the campaign's dashboard numbers, as a channel of its own.
    Event.objects.update(received_at=timezone.now() - datetime.timedelta(hours=1))
    rollups.update_rollups()
    flt = dashboards.DashboardFilter.default()
    by_channel = {
        r["channel"]: r for r in dashboards.campaign_by_channel(flt, publication.campaign_id)
    }
    assert by_channel["hub"]["clicks"] == 1 and by_channel["hub"]["unique_clicks"] == 1
    assert by_channel["email"]["clicks"] == 1  # the arrival itself, on its own channel
    assert dashboards.campaign_totals(flt, publication.campaign_id)["clicks"] == 2
    mix = {r["channel"]: r["clicks"] for r in dashboards.channel_mix(flt)}
    assert mix["hub"] == 1
    top = {r["link_id"]: r for r in dashboards.top_links(flt, publication.campaign_id)}
    assert top[link.pk]["url"] == "https://sponsor.example.com/deal"
    assert "hub" in dict(dashboards.CHANNELS)


def test_click_without_the_cookie_counts_for_the_page_only(client, hub_post):
    link = hub_link(client, hub_post)
    client.get(f"/t/{link.code}", HTTP_USER_AGENT=FIREFOX)
    event = Event.objects.get()
    assert (event.campaign_id, event.publication_id, event.page_id, event.channel) == (
        0,
        0,
        hub_post.pk,
        "hub",
    )


def _signed_visit(value: str, *, salt="analytics.visit", key=None) -> str:
    return signing.TimestampSigner(key=key, salt=salt).sign(value)


@pytest.mark.parametrize(
    "cookie",
    [
        "garbage",
        "",
        "5.6",
        "5.6:1tAbCd:forgedsignature",
        "x" * 5000,
        _signed_visit("5.6", key="not-our-secret-key-at-all-not-our-secret-key"),
        _signed_visit("5.6", salt="another.purpose"),
        _signed_visit("abc.def"),
        _signed_visit("0.6"),
    ],
    ids=lambda c: c[:20] or "empty",
)
def test_forged_or_garbled_cookies_are_ignored(client, hub_post, email_to_hub, cookie):
    link = hub_link(client, hub_post)
    client.cookies[VISIT_COOKIE] = cookie
    assert client.get(f"/t/{link.code}", HTTP_USER_AGENT=FIREFOX).status_code == 302
    assert Event.objects.get().campaign_id == 0


def test_the_visit_expires_after_30_days(client, hub_post, email_to_hub, monkeypatch):
    publication, _ = email_to_hub
    link = hub_link(client, hub_post)
    real_time = time.time
    monkeypatch.setattr(signing.time, "time", lambda: real_time() - 31 * 86400)
    client.cookies[VISIT_COOKIE] = _signed_visit(f"{publication.campaign_id}.{publication.pk}")
    monkeypatch.setattr(signing.time, "time", lambda: real_time() - 29 * 86400)
    fresh = _signed_visit(f"{publication.campaign_id}.{publication.pk}")
    monkeypatch.undo()
    client.get(f"/t/{link.code}", HTTP_USER_AGENT=FIREFOX)
    client.cookies[VISIT_COOKIE] = fresh
    client.get(f"/t/{link.code}", HTTP_USER_AGENT=FIREFOX)
    assert sorted(Event.objects.values_list("campaign_id", flat=True)) == sorted(
        [0, publication.campaign_id]
    )


def test_the_cookie_only_marks_hub_links(client, hub_post, email_to_hub):
    """A campaign's own link keeps its campaign whatever visit cookie comes with it."""
    publication, _ = email_to_hub
    blog_publication = PublicationFactory(page=hub_post, campaign__slug="spring")
    tracked_url("https://shop.example.com/", publication=blog_publication)
    other = TrackedLink.objects.get(publication=blog_publication)
    client.cookies[VISIT_COOKIE] = _signed_visit(f"{publication.campaign_id}.{publication.pk}")
    client.get(f"/t/{other.code}", HTTP_USER_AGENT=FIREFOX)
    event = Event.objects.get()
    assert (event.campaign_id, event.publication_id, event.channel) == (
        blog_publication.campaign_id,
        blog_publication.pk,
        "blog",
    )


def test_no_cookie_for_own_site_links_of_no_campaign(client, hub_post, home_page):
    tracked_url(f"https://hub.example.com{hub_post.url}", page=home_page, channel="hub")
    link = TrackedLink.objects.get()
    response = client.get(f"/t/{link.code}", HTTP_USER_AGENT=FIREFOX)
    assert response.status_code == 302 and VISIT_COOKIE not in response.cookies


@pytest.mark.services
def test_the_campaign_survives_the_redis_queue(client, use_redis, hub_post, email_to_hub):
    """Production's path: the click and its cookie go through Redis; the drainer checks
    the cookie and attributes the click."""
    publication, campaign_link = email_to_hub
    client.get(f"/t/{campaign_link.code}", HTTP_USER_AGENT=FIREFOX)
    link = hub_link(client, hub_post)
    client.get(f"/t/{link.code}", HTTP_USER_AGENT=FIREFOX)
    assert not Event.objects.exists()  # nothing written on the request path
    flush_pushes()
    assert drain_event_queue() == 2
    event = Event.objects.get(link_id=link.pk)
    assert (event.campaign_id, event.publication_id, event.page_id) == (
        publication.campaign_id,
        publication.pk,
        hub_post.pk,
    )
