"""Publish verification for external blogs: after a post is published, read the blog's
RSS/Atom feed and confirm the post is in it, or tell the campaign owner it is not.

An account opts in with the settings `verify_feed_url` (and `verify_window_minutes`,
default 30). `start_feed_verification` runs when such a publication is published: it
receives campaigns' `publication_published` signal (connected here, at import;
ChannelsConfig.ready imports this module), so the publish service never names it.
`verify_published_posts` (a beat task every 5 minutes) checks the pending rows and tells
the owner through campaigns.notifications. Feeds are fetched through the SSRF-guarded client, with the account's
"internal network" flag, and parsed by feedparser from bytes (it never opens a URL).
"""

from __future__ import annotations

import datetime
import io
import logging
import re
from urllib.parse import urlsplit

import feedparser
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.notifications import notify_publication_problem
from campaigns.signals import publication_published

from .http import client_for_account, read_limited
from .models import FeedVerification

logger = logging.getLogger(__name__)

DEFAULT_WINDOW_MINUTES = 30
MAX_FEED_BYTES = 2 * 1024 * 1024
VERIFIED_KINDS = ("blog/wordpress", "blog/metaweblog")


def feed_url_for(account) -> str:
    settings = account.settings or {}
    if account.kind not in VERIFIED_KINDS:
        return ""
    if "verify_feed_url" in settings:
        return (settings.get("verify_feed_url") or "").strip()
    # MetaWeblog accounts saved before the setting was renamed.
    return (settings.get("feed_url") or "").strip()


def window_for(account) -> datetime.timedelta:
    try:
        minutes = int((account.settings or {}).get("verify_window_minutes") or 0)
    except (TypeError, ValueError):
        minutes = 0
    return datetime.timedelta(minutes=minutes if minutes > 0 else DEFAULT_WINDOW_MINUTES)


@receiver(publication_published, dispatch_uid="channels_start_feed_verification")
def _on_publication_published(sender, publication, published_at=None, **kwargs):
    start_feed_verification(publication, published_at)


def start_feed_verification(publication, now=None):
    """Create the pending FeedVerification for a just-published `publication`, if its
    account asks for one. Idempotent (one row per publication). Never raises: it runs
    inside the publish service's transaction, and a verification problem must never
    undo the record of a post that is live."""
    try:
        feed_url = feed_url_for(publication.channel_account)
        if not feed_url:
            return None
        now = now or timezone.now()
        with transaction.atomic():  # a savepoint: a failure here leaves the caller intact
            row, _created = FeedVerification.objects.get_or_create(
                publication=publication,
                defaults={
                    "feed_url": feed_url[:1000],
                    "deadline": now + window_for(publication.channel_account),
                },
            )
        return row
    except Exception:  # noqa: BLE001 - see the docstring
        logger.exception("could not start feed verification for publication %s", publication.pk)
        return None


# --- matching ---------------------------------------------------------------------------


def normalise_url(url: str) -> str:
    """A URL reduced for comparison: the scheme (http/https/none) is ignored, the host
    is lowercased without a default port, one trailing slash is dropped and the fragment
    removed. The path and query keep their case (they are case-sensitive on most blogs).
    Returns "" for something that has no host."""
    url = (url or "").strip()
    if not url:
        return ""
    if "://" not in url and not url.startswith("//"):
        url = "//" + url  # scheme-less: "blog.example.com/post"
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return ""
    if not host:
        return ""
    if port and port not in (80, 443):
        host = f"{host}:{port}"
    path = parts.path.rstrip("/")
    query = f"?{parts.query}" if parts.query else ""
    return f"{host}{path}{query}"


def _contains_id(text: str, external_id: str) -> bool:
    # A whole token only: post 12 must not match "?p=123" or "2012-05".
    pattern = rf"(?<![0-9A-Za-z]){re.escape(external_id)}(?![0-9A-Za-z])"
    return bool(re.search(pattern, text or ""))


def entry_matches(entry, public_url: str, external_id: str) -> bool:
    wanted = normalise_url(public_url)
    if wanted:
        links = [entry.get("link", "")] + [
            link.get("href", "") for link in entry.get("links") or []
        ]
        if any(normalise_url(link) == wanted for link in links):
            return True
    external_id = (external_id or "").strip()
    if external_id:
        return _contains_id(entry.get("id", "") or entry.get("guid", ""), external_id)
    return False


class FeedUnavailable(Exception):
    """The feed could not be fetched or parsed; the message is for `detail`."""


def fetch_feed_entries(account, url: str) -> list:
    """The entries of the feed at `url`, fetched with the account's SSRF settings.
    Raises FeedUnavailable."""
    try:
        with client_for_account(
            account, follow_redirects=True, max_redirects=5, max_bytes=MAX_FEED_BYTES
        ) as client:
            with client.stream("GET", url) as response:
                response.raise_for_status()
                data = read_limited(response, MAX_FEED_BYTES)
    except Exception as exc:  # noqa: BLE001 - httpx errors, the SSRF guard, bad URLs
        raise FeedUnavailable(
            _("cannot fetch the feed: %(error)s") % {"error": str(exc) or type(exc).__name__}
        ) from exc
    try:
        # A stream, never bytes: given bytes, feedparser first tries them as a file path.
        parsed = feedparser.parse(io.BytesIO(data), resolve_relative_uris=False)
    except Exception as exc:  # noqa: BLE001 - feedparser on hostile input
        raise FeedUnavailable(_("unreadable feed: %(error)s") % {"error": exc}) from exc
    if not parsed.entries and (parsed.get("bozo") or not parsed.get("version")):
        error = parsed.get("bozo_exception") or _("not an RSS or Atom feed")
        raise FeedUnavailable(_("broken feed: %(error)s") % {"error": error})
    return list(parsed.entries)


# --- the periodic check -----------------------------------------------------------------


def verify_published_posts(now=None) -> dict[str, int]:
    """Check every pending FeedVerification once. Idempotent and safe to run
    concurrently: each row is re-locked and only changed while still pending, so the
    owner is told about a missing post exactly once. Never raises for a feed problem:
    it is written to `detail` and retried on the next run until the deadline.

    Returns counts {"verified", "missing", "pending"}.
    """
    now = now or timezone.now()
    counts = {"verified": 0, "missing": 0, "pending": 0}
    rows = FeedVerification.objects.filter(status=FeedVerification.Status.PENDING).select_related(
        "publication__channel_account"
    )
    feeds: dict[tuple[str, bool], list | FeedUnavailable] = {}  # one fetch per feed per run
    for row in rows:
        account = row.publication.channel_account
        key = (row.feed_url, account.is_internal)
        if key not in feeds:
            try:
                feeds[key] = fetch_feed_entries(account, row.feed_url)
            except FeedUnavailable as exc:
                feeds[key] = exc
        try:
            outcome = _record_check(row.pk, feeds[key], now)
        except Exception:  # noqa: BLE001 - one bad row must not stop the others
            logger.exception("feed verification %s failed", row.pk)
            continue
        if outcome:
            counts[outcome] += 1
    return counts


def _record_check(row_id: int, entries, now) -> str | None:
    S = FeedVerification.Status
    with transaction.atomic():
        row = (
            FeedVerification.objects.select_for_update(of=("self",))
            .select_related("publication__campaign__owner")
            .filter(pk=row_id, status=S.PENDING)
            .first()
        )
        if row is None:  # another run got there first
            return None
        pub = row.publication
        row.checked_at = now
        if isinstance(entries, FeedUnavailable):
            found, row.detail = False, str(entries)
        else:
            found = any(entry_matches(e, pub.public_url, pub.external_id) for e in entries)
            row.detail = "" if found else _("not in the feed yet")
        if found:
            row.status = S.VERIFIED
            row.detail = _("Found in the feed.")
        elif now >= row.deadline:
            row.status = S.MISSING
            logger.warning(
                "publication %s is not in its feed %s by %s: %s",
                pub.pk,
                row.feed_url,
                row.deadline.isoformat(),
                row.detail,
            )
            notify_publication_problem(
                pub,
                _(
                    "“%(pub)s” was published but did not appear in the blog's feed "
                    "%(feed)s in time: %(detail)s"
                )
                % {"pub": pub, "feed": row.feed_url, "detail": row.detail},
            )
        row.save(update_fields=["status", "checked_at", "detail"])
        return str(row.status)
