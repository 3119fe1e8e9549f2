"""Resolving a tracked link's code on the redirect's hot path, from a per-process cache.

The gunicorn master warms the cache before it forks the workers (warm_link_cache,
deploy/gunicorn_hooks.py), so this module stays free of the event pusher: nothing here
starts a thread or opens a queue connection.
"""

import collections
import re
import threading

from django.conf import settings
from django.core.signals import setting_changed
from django.db import connections, router
from django.dispatch import receiver

from .models import TrackedLink

# The codes analytics.links makes: secrets.token_urlsafe(12), 16 URL-safe characters.
CODE_RE = re.compile(r"\A[A-Za-z0-9_-]{16}\Z")


class LinkCache:
    """A bounded, least-recently-used map of code -> what the redirect needs of a link:
    (link id, destination) in LINK_CACHE, (campaign id, publication id) in
    ATTRIBUTION_CACHE.

    Destinations never change after creation, so an entry never goes stale; the bound
    only caps memory (an entry with a typical destination is about 0.4 kB). Safe to
    share between threads.
    """

    def __init__(self, max_size: int):
        self.max_size = max_size
        self._entries: collections.OrderedDict[str, tuple[int, str]] = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, code: str) -> tuple[int, str] | None:
        with self._lock:
            hit = self._entries.get(code)
            if hit is not None:
                self._entries.move_to_end(code)
            return hit

    def put(self, code: str, link: tuple[int, str]) -> None:
        with self._lock:
            self._entries[code] = link
            self._entries.move_to_end(code)
            self._drop_beyond_bound()

    def resize(self, max_size: int) -> None:
        """Hold at most `max_size` entries from now on (the least recently used go)."""
        with self._lock:
            self.max_size = max_size
            self._drop_beyond_bound()

    def _drop_beyond_bound(self) -> None:
        while len(self._entries) > self.max_size:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, code) -> bool:
        return code in self._entries


# The links of recent sends fit; the bound is what a web process may spend on them
# (an entry is about 0.4 kB: ~40 MB at the default). ANALYTICS_LINK_CACHE_SIZE sets it.
# This process's cache: LINK_CACHE.clear() forgets every link it holds.
LINK_CACHE = LinkCache(settings.ANALYTICS_LINK_CACHE_SIZE)


@receiver(setting_changed)
def _resize_link_cache(setting, **kwargs):
    """The bound follows the setting when it changes at run time (tests override it)."""
    if setting == "ANALYTICS_LINK_CACHE_SIZE":
        LINK_CACHE.resize(settings.ANALYTICS_LINK_CACHE_SIZE)


def warm_link_cache() -> int:
    """Load the newest links (as many as the cache holds) into this process's cache;
    returns how many.

    gunicorn's master calls this once before forking its workers (deploy/gunicorn_hooks.py):
    readers click the links of recent sends, and without it each process paid a database
    round trip for the first click on every one of them. Older links still resolve,
    through the database, and are cached from then on.
    """
    rows = list(
        TrackedLink.objects.order_by("-pk").values_list("code", "pk", "destination")[
            : LINK_CACHE.max_size
        ]
    )
    for code, pk, destination in reversed(rows):  # newest end up most recently used
        LINK_CACHE.put(code, (int(pk), destination))
    return len(rows)


# A fixed statement instead of TrackedLink.objects.filter(code=...).values_list(...):
# the ORM builds and compiles that query on every call, about 0.3 ms of CPU, which was
# most of the cost of a redirect whose code is not cached yet (and with many links and
# many workers most codes are not). `.first()` also added an ORDER BY on the model
# ordering, useless on a unique column. The code is passed as a parameter, never
# formatted into the SQL; names come from the model so a rename cannot silently break it.
_LINK_BY_CODE_SQL = 'SELECT "{pk}", "{destination}" FROM "{table}" WHERE "{code}" = %s'.format(
    pk=TrackedLink._meta.pk.column,
    destination=TrackedLink._meta.get_field("destination").column,
    table=TrackedLink._meta.db_table,
    code=TrackedLink._meta.get_field("code").column,
)


def resolve_link_code(code: str) -> tuple[int, str] | None:
    """(link id, stored destination) for a well-formed, existing code; else None.

    Destinations never change, so each process keeps what it looked up (LinkCache).
    Unknown codes are not cached: they cost a lookup each, and the cache stays for links.
    """
    if not CODE_RE.match(code or ""):
        return None
    return LINK_CACHE.get(code) or _lookup_link(code)


def _lookup_link(code: str) -> tuple[int, str] | None:
    with connections[router.db_for_read(TrackedLink)].cursor() as cursor:
        cursor.execute(_LINK_BY_CODE_SQL, [code])
        row = cursor.fetchone()
    if row is None:
        return None
    link = (int(row[0]), row[1])
    LINK_CACHE.put(code, link)
    return link


# Campaign and publication of links that lead to our own site, asked only when such a
# link is clicked (the redirect then remembers the campaign in the visit cookie,
# analytics.visits). Like destinations, they never change after creation.
ATTRIBUTION_CACHE = LinkCache(10_000)


def resolve_link_attribution(code: str) -> tuple[int, int]:
    """(campaign id, publication id) of the link `code` names, 0 for none; (0, 0) if it
    is gone. Keyed by code, which is never reused (ids can be, after a rollback)."""
    hit = ATTRIBUTION_CACHE.get(code)
    if hit is None:
        row = TrackedLink.objects.filter(code=code).values_list("campaign_id", "publication_id")
        campaign_id, publication_id = row.first() or (0, 0)
        hit = (campaign_id or 0, publication_id or 0)
        ATTRIBUTION_CACHE.put(code, hit)
    return hit
