"""A person's timeline: every provider's newest entries merged, newest first, 50 a page,
paged by a cursor instead of an OFFSET.

The cursor names the oldest time shown, in microseconds since 1970 UTC, and how many
entries at exactly that time were shown already (`"<microseconds>~<n>"`: URL-safe). The next page asks each provider for entries older
than that time plus one microsecond (so those at the time itself come back too), `limit
+ n` of them, merges them in one total order (time descending, then provider order, then
the provider's own order, which is by id for equal times) and skips the n it showed:
entries sharing a time are neither repeated nor lost, however many there are.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from .registry import TimelineEntry, providers

PAGE = 50
TICK = datetime.timedelta(microseconds=1)
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


@dataclass
class Page:
    entries: list[TimelineEntry]
    older: str  # the cursor of the next (older) page; "" when this is the last


def parse_cursor(value: str | None) -> tuple[datetime.datetime | None, int]:
    """(time, how many entries at that time were shown); (None, 0) for the first page or
    anything malformed."""
    if not value:
        return None, 0
    at, _sep, skip = str(value).partition("~")
    if not (at.isascii() and at.isdigit() and len(at) < 18):
        return None, 0
    parsed = EPOCH + int(at) * TICK
    return parsed, int(skip) if skip.isascii() and skip.isdigit() and len(skip) < 7 else 0


def make_cursor(at: datetime.datetime, skip: int) -> str:
    return f"{(at - EPOCH) // TICK}~{skip}"


def person_timeline(subscriber, cursor: str | None = None, limit: int = PAGE) -> Page:
    at, skip = parse_cursor(cursor)
    before = at + TICK if at is not None else None
    wanted = limit + skip + 1  # one more: whether an older page exists
    merged = []
    for rank, provider in enumerate(providers()):
        for position, entry in enumerate(provider.timeline(subscriber, before, wanted)):
            merged.append((entry.at, -rank, -position, entry))
    merged.sort(key=lambda item: item[:3], reverse=True)
    entries = [item[3] for item in merged]
    if at is not None:
        # The first `skip` entries at exactly `at` were on the pages before.
        same = [e for e in entries if e.at == at]
        entries = same[skip:] + [e for e in entries if e.at < at]
    page, more = entries[:limit], len(entries) > limit
    if not page or not more:
        return Page(page, "")
    last = page[-1].at
    shown_at_last = sum(1 for e in page if e.at == last)
    if at is not None and last == at:
        shown_at_last += skip
    return Page(page, make_cursor(last, shown_at_last))
