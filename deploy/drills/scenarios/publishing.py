"""The publishing drills: a PostgreSQL restart mid-dispatch, and two beats at once. Both
count at the loopback channel, by idempotency key."""

from __future__ import annotations

import datetime
import time

from ..infra import wait_for
from .base import Context, Row, missing, pending_row
from .fixtures import count_present, drill_campaign, live_page, schedule_spread

PUBLISHING_NEEDS = (
    "campaigns.services.schedule_publication",
    "campaigns.services.claim_due_publications",
    "campaigns.services.publish_publication",
    "campaigns.services.sweep_stuck_publications",
)


def _counter_publications(ctx: Context, drill: str, n: int):
    from campaigns.models import Publication
    from channels.models import ChannelAccount

    account = ChannelAccount.objects.create(
        kind="blog/drill_counter",
        name=f"{drill}-{ctx.broker_name}-{ctx.run_id}",
        settings={"base_url": f"http://127.0.0.1:{ctx.channel.port}"},
        is_internal=True,
        rate_limit_per_minute=0,
    )
    campaign, page = drill_campaign(drill), live_page()
    pubs = Publication.objects.bulk_create(
        [Publication(campaign=campaign, page=page, channel_account=account) for _ in range(n)]
    )
    return list(Publication.objects.filter(pk__in=[p.pk for p in pubs]))


def _count_publications(ctx: Context, pubs, row: Row):
    from campaigns.models import Publication

    keys = {str(p.idempotency_key) for p in pubs}
    counts = ctx.channel.snapshot()
    row.expected = len(keys)
    row.received = sum(counts[k] for k in keys)
    row.duplicates = sum(max(counts[k] - 1, 0) for k in keys)
    row.lost = sum(1 for k in keys if counts[k] == 0)
    statuses = Publication.objects.filter(pk__in=[p.pk for p in pubs]).values_list(
        "status", flat=True
    )
    not_published = sum(1 for s in statuses if s != Publication.Status.PUBLISHED)
    if not_published:
        row.note = f"{not_published} not marked published in the database"
    row.status = "PASS" if not row.duplicates and not row.lost and not not_published else "FAIL"


def _all_received(ctx: Context, pubs) -> bool:
    from campaigns.models import Publication

    keys = {str(p.idempotency_key) for p in pubs}
    counts = ctx.channel.snapshot()
    if not all(counts[k] for k in keys):
        return False
    return (
        not Publication.objects.filter(pk__in=[p.pk for p in pubs])
        .exclude(status=Publication.Status.PUBLISHED)
        .exists()
    )


def drill_pg_restart_dispatch(ctx: Context, n: int = 300) -> Row:
    """Restart PostgreSQL while the dispatcher claims and workers publish: no publication
    posted twice, none forgotten."""
    row = Row("pg-restart-dispatch", ctx.broker_name)
    if absent := missing(*PUBLISHING_NEEDS):
        return pending_row(row.drill, ctx.broker_name, absent)
    pubs = _counter_publications(ctx, row.drill, n)
    ctx.worker("pgw1")
    ctx.worker("pgw2")
    ctx.beat()
    from django.utils import timezone

    schedule_spread(pubs, timezone.now() + datetime.timedelta(seconds=2), spread_s=12)
    keys = {str(p.idempotency_key) for p in pubs}
    wait_for(
        lambda: count_present(ctx.channel.snapshot(), keys) >= n // 4,
        60,
        what="a quarter of the publications to be posted",
    )
    from django.db import connections

    connections.close_all()
    fault = time.monotonic()
    down = ctx.pg.restart(down_seconds=3)
    connections.close_all()
    wait_for(
        lambda: _all_received(ctx, pubs),
        120,
        interval=0.5,
        what="every publication posted and marked published",
    )
    row.recover_s = round(time.monotonic() - fault, 1)
    row.extra["down_s"] = round(down, 1)
    _count_publications(ctx, pubs, row)
    return row


def drill_two_beats(ctx: Context, n: int = 120, seconds: float = 60) -> Row:
    """Two beats (two dispatchers, two sweepers) for a minute: every due publication is
    posted exactly once."""
    row = Row("two-beats", ctx.broker_name)
    if absent := missing(*PUBLISHING_NEEDS):
        return pending_row(row.drill, ctx.broker_name, absent)
    pubs = _counter_publications(ctx, row.drill, n)
    ctx.worker("bw1")
    ctx.worker("bw2")
    from django.utils import timezone

    schedule_spread(
        pubs, timezone.now() + datetime.timedelta(seconds=3), spread_s=max(seconds - 8, 1)
    )
    ctx.beat("beat-a")
    ctx.beat("beat-b")
    started = time.monotonic()
    time.sleep(max(seconds - (time.monotonic() - started), 0))
    wait_for(
        lambda: _all_received(ctx, pubs),
        60,
        interval=0.5,
        what="every publication posted and marked published",
    )
    row.extra["ran_s"] = round(time.monotonic() - started, 1)
    # No single fault to recover from: the time shown is the worst lateness (posted at
    # minus due at) of any publication while both beats ran.
    from campaigns.models import Publication

    lateness = [
        (published - due).total_seconds()
        for published, due in Publication.objects.filter(pk__in=[p.pk for p in pubs])
        .exclude(published_at=None)
        .values_list("published_at", "publish_at")
    ]
    row.recover_s = round(max(lateness), 1) if lateness else None
    _count_publications(ctx, pubs, row)
    return row
