"""Publish verification: a post published to WordPress is looked for in the blog's
RSS/Atom feed, served by a loopback server."""

import ast
import datetime
import logging
from pathlib import Path

import pytest
from django.utils import timezone

import campaigns.services
import channels.verification
from campaigns import services as campaign_services
from campaigns.models import Notification, Publication
from campaigns.signals import publication_published
from channels.models import FeedVerification
from channels.verification import verify_published_posts

from .fakes import FakeWordPress
from .loopback import FakeService, Reply

pytestmark = pytest.mark.django_db

V = FeedVerification.Status


class FakeFeed(FakeService):
    """/feed answers `body` with `content_type`; tests change both between runs."""

    def __init__(self):
        super().__init__()
        self.body = b""
        self.content_type = "application/rss+xml; charset=utf-8"

    def handle(self, r):
        if r.path != "/feed":
            return Reply(404, "not found")
        return Reply(200, self.body, headers={"Content-Type": self.content_type})


def rss(*items: tuple[str, str]) -> bytes:
    """An RSS 2.0 feed of (link, guid) items."""
    body = "".join(
        f"<item><title>Post {n}</title><link>{link}</link>"
        f'<guid isPermaLink="false">{guid}</guid></item>'
        for n, (link, guid) in enumerate(items)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        "<title>Blog</title><link>https://blog.example.com/</link>"
        f"<description>d</description>{body}</channel></rss>"
    ).encode()


def atom(*entries: tuple[str, str]) -> bytes:
    """An Atom feed of (link, id) entries."""
    body = "".join(
        f'<entry><title>Post {n}</title><link rel="alternate" href="{link}"/>'
        f"<id>{entry_id}</id><updated>2026-01-01T00:00:00Z</updated></entry>"
        for n, (link, entry_id) in enumerate(entries)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>Blog</title><id>urn:blog</id><updated>2026-01-01T00:00:00Z</updated>"
        f"{body}</feed>"
    ).encode()


@pytest.fixture
def wp(loopback):
    return loopback(FakeWordPress())


@pytest.fixture
def feed(loopback):
    return loopback(FakeFeed())


@pytest.fixture
def publish(make_publication, wp, feed):
    """Publish a WordPress post through the publish service; returns the publication."""

    def run(**extra_settings):
        pub = make_publication(
            "blog/wordpress",
            settings={"base_url": wp.url, "username": "editor", **extra_settings},
            secrets={"application_password": "abcd efgh ijkl mnop"},
        )
        Publication.objects.filter(pk=pub.pk).update(status=Publication.Status.QUEUED)
        assert campaign_services.publish_publication(pub.pk) == "published"
        pub.refresh_from_db()
        return pub

    return run


@pytest.fixture
def published(publish, feed):
    return publish(verify_feed_url=f"{feed.url}/feed", verify_window_minutes=10)


def test_publishing_starts_a_verification_with_the_window(published, feed):
    check = published.feed_verification
    assert check.status == V.PENDING
    assert check.feed_url == f"{feed.url}/feed"
    assert check.deadline == published.published_at + datetime.timedelta(minutes=10)


def test_verified_when_the_post_link_is_in_the_rss_feed(published, feed):
    # The feed gives the link without the scheme's "s" and without the trailing slash.
    link = published.public_url.replace("https://", "http://").rstrip("/")
    assert link != published.public_url
    feed.service.body = rss(("https://blog.example.com/other/", "x-1"), (link, "x-2"))

    assert verify_published_posts() == {"verified": 1, "missing": 0, "pending": 0}

    check = FeedVerification.objects.get(publication=published)
    assert check.status == V.VERIFIED
    assert check.checked_at is not None
    assert feed.calls("GET", "/feed")
    assert not Notification.objects.exists()


def test_verified_by_the_atom_entry_id_holding_the_post_id(published, feed):
    feed.service.content_type = "application/atom+xml"
    feed.service.body = atom(
        ("https://feeds.example.net/r/blog/~3/abc", f"https://blog.example.com/?p={published.external_id}")
    )  # fmt: skip

    verify_published_posts()

    assert FeedVerification.objects.get(publication=published).status == V.VERIFIED


def test_still_pending_before_the_deadline_when_the_post_is_not_in_the_feed(published, feed):
    # A neighbour whose id merely starts with ours must not count.
    other_id = f"{published.external_id}0"
    feed.service.body = rss(("https://blog.example.com/other/", f"https://blog.example.com/?p={other_id}"))  # fmt: skip
    now = published.feed_verification.deadline - datetime.timedelta(seconds=1)

    assert verify_published_posts(now=now) == {"verified": 0, "missing": 0, "pending": 1}

    check = FeedVerification.objects.get(publication=published)
    assert check.status == V.PENDING
    assert check.checked_at == now
    assert check.detail
    assert not Notification.objects.exists()


def test_missing_after_the_deadline_notifies_the_owner_once(published, feed, caplog):
    feed.service.body = rss(("https://blog.example.com/other/", "x-1"))
    after = published.feed_verification.deadline + datetime.timedelta(minutes=1)

    with caplog.at_level(logging.WARNING, logger="channels.verification"):
        assert verify_published_posts(now=after)["missing"] == 1
    assert verify_published_posts(now=after + datetime.timedelta(minutes=5))["missing"] == 0

    assert FeedVerification.objects.get(publication=published).status == V.MISSING
    note = Notification.objects.get()
    assert note.user == published.campaign.owner
    assert note.publication == published
    assert note.level == Notification.Level.ERROR
    assert f"{feed.url}/feed" in note.message
    assert any("not in its feed" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    "reply",
    [
        Reply(200, b"<html><body><p>Maintenance <b>mode", {"Content-Type": "text/html"}),
        Reply(200, b"\x00\xff not xml at all <<<", {"Content-Type": "application/rss+xml"}),
        Reply(503, "down for maintenance"),
    ],
    ids=["html-page", "garbage", "server-error"],
)
def test_a_broken_feed_is_recorded_and_retried_until_the_deadline(published, feed, reply):
    feed.service.faults.append(reply)

    assert verify_published_posts() == {"verified": 0, "missing": 0, "pending": 1}
    check = FeedVerification.objects.get(publication=published)
    assert check.status == V.PENDING
    assert check.detail

    # The feed recovers on the next run.
    feed.service.body = rss((published.public_url, "x"))
    verify_published_posts()
    assert FeedVerification.objects.get(publication=published).status == V.VERIFIED


def test_an_unreachable_feed_past_the_deadline_is_missing(published, feed):
    feed.service.faults.append(Reply(500, "boom"))
    after = published.feed_verification.deadline

    verify_published_posts(now=after)

    check = FeedVerification.objects.get(publication=published)
    assert check.status == V.MISSING
    assert "500" in check.detail
    assert Notification.objects.filter(user=published.campaign.owner).count() == 1


def test_the_feed_fetch_respects_the_ssrf_guard(published, feed):
    published.channel_account.is_internal = False
    published.channel_account.save(update_fields=["is_internal"])
    feed.service.body = rss((published.public_url, "x"))

    assert verify_published_posts()["pending"] == 1

    check = FeedVerification.objects.get(publication=published)
    assert "not a public address" in check.detail
    assert not feed.calls()


def test_an_account_without_a_feed_url_creates_no_verification(publish):
    pub = publish()

    assert not FeedVerification.objects.filter(publication=pub).exists()
    assert verify_published_posts() == {"verified": 0, "missing": 0, "pending": 0}


def test_the_account_form_offers_the_verification_settings():
    from channels.forms import kind_fields

    for kind in ("blog/wordpress", "blog/metaweblog"):
        settings_fields, _secrets = kind_fields(kind)
        assert not settings_fields["verify_feed_url"].required
        assert settings_fields["verify_window_minutes"].initial == 30


def test_deadline_defaults_to_thirty_minutes(publish, feed):
    before = timezone.now()
    pub = publish(verify_feed_url=f"{feed.url}/feed")

    deadline = pub.feed_verification.deadline
    assert before + datetime.timedelta(minutes=30) <= deadline
    assert deadline <= timezone.now() + datetime.timedelta(minutes=30)


def test_the_published_signal_alone_starts_the_verification(make_publication, feed):
    """The feed check hangs on campaigns' `publication_published` signal (connected when
    the channels app loads), not on the publish service calling it by name."""
    pub = make_publication(
        "blog/wordpress",
        settings={"base_url": "https://blog.example.com", "verify_feed_url": f"{feed.url}/feed"},
    )
    when = timezone.now()
    publication_published.send(sender=Publication, publication=pub, published_at=when)
    check = FeedVerification.objects.get(publication=pub)
    assert check.status == V.PENDING
    assert check.deadline == when + datetime.timedelta(minutes=30)
    # Idempotent: the same news twice keeps one row.
    publication_published.send(sender=Publication, publication=pub, published_at=when)
    assert FeedVerification.objects.filter(publication=pub).count() == 1


def imported_modules(path: Path) -> set[str]:
    """Every module a source file imports (top level or inside functions)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_the_publish_services_do_not_know_the_feed_verification():
    package = Path(campaigns.services.__file__).parent
    for path in sorted(package.glob("*.py")):
        assert not any("verification" in name for name in imported_modules(path)), path.name


def test_verification_notifies_without_importing_the_campaign_services():
    names = imported_modules(Path(channels.verification.__file__))
    assert "campaigns.notifications" in names and "campaigns.signals" in names
    assert not any(name.startswith("campaigns.services") for name in names)
