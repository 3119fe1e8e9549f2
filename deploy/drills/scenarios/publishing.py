"""The publishing drills: a PostgreSQL restart mid-dispatch, two beats at once, and a burst
of blog publications whose answers the channel loses. All count at the loopback channel
(deploy/drills/peer.py), by idempotency key."""

from __future__ import annotations

import datetime
import time

from ..infra import DrillError, wait_for
from ..peer import CREATE_FAULTS, AnswerFaults
from .base import Context, Row, missing, pending_row
from .fixtures import count_present, drill_campaign, live_page, schedule_spread

PUBLISHING_NEEDS = (
    "campaigns.services.schedule_publication",
    "campaigns.services.claim_due_publications",
    "campaigns.services.publish_publication",
    "campaigns.services.sweep_stuck_publications",
)


def _counter_publications(ctx: Context, drill: str, n: int, **account_settings):
    """`n` publications on a new drill counter account (deploy/drills/adapter.py);
    `account_settings` are added to its settings (e.g. the client's timeout)."""
    from campaigns.models import Publication
    from channels.models import ChannelAccount

    account = ChannelAccount.objects.create(
        kind="blog/drill_counter",
        name=f"{drill}-{ctx.broker_name}-{ctx.run_id}",
        settings={"base_url": f"http://127.0.0.1:{ctx.channel.port}", **account_settings},
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


# The drill adapter's client gives up after LOST_ANSWER_TIMEOUT_S; the peer holds a
# delayed answer LOST_ANSWER_DELAY_S, so the client has surely stopped waiting.
LOST_ANSWER_TIMEOUT_S = 2.0
LOST_ANSWER_DELAY_S = 5.0


def drill_blog_burst_lost_answers(ctx: Context, n: int = 200) -> Row:
    """A burst of blog publications (due within a few seconds) while the channel loses
    the answers of a share of the create calls after storing the post (connection closed
    or reset, answered after the client's timeout, 502), now and then a lookup's answer
    too, and the worker is killed while the channel holds one of its requests. Every
    publication must end PUBLISHED with exactly one post at the channel.

    The lost answers are recovered by the publish service's unknown-outcome lookups (a
    later attempt asks `find_existing` before posting again); the killed worker's attempts
    by the sweeper (stuck in "publishing": outcome unknown, looked up), and with Redis its
    reserved messages by the sweeper too (stuck in "queued": handed over again)."""
    row = Row("blog-burst-lost-answers", ctx.broker_name)
    if absent := missing(*PUBLISHING_NEEDS):
        return pending_row(row.drill, ctx.broker_name, absent)
    pubs = _counter_publications(ctx, row.drill, n, timeout_seconds=LOST_ANSWER_TIMEOUT_S)
    faults = AnswerFaults(delay_seconds=LOST_ANSWER_DELAY_S)
    victim = ctx.worker("blw1", concurrency=4)
    ctx.channel.faults = faults
    try:
        from django.utils import timezone

        schedule_spread(pubs, timezone.now() + datetime.timedelta(seconds=2), spread_s=4)
        ctx.beat()
        started = _kill_while_an_answer_is_held(ctx, faults, victim, pubs, n, row)
        wait_for(
            lambda: _all_received(ctx, pubs),
            150,
            interval=0.5,
            what="every publication posted and marked published",
        )
        row.recover_s = round(time.monotonic() - started, 1)
        time.sleep(2)  # a late duplicate would arrive now
    except DrillError as exc:
        row.note = str(exc)
    finally:
        ctx.channel.faults = None
    note = row.note
    _count_publications(ctx, pubs, row)
    row.note = "; ".join(filter(None, [note, row.note]))
    _check_recovery_paths_ran(row, faults, pubs)
    return row


def _kill_while_an_answer_is_held(ctx: Context, faults, victim, pubs, n: int, row: Row) -> float:
    """Once a fifth of the burst has reached the channel, wait for a delayed answer whose
    client still waits for it (the victim is the only worker, so the client is its), kill
    -9 the victim and start another worker. Returns when the kill happened (monotonic)."""
    from campaigns.models import Publication

    wait_for(
        lambda: (
            faults.snapshot().get("creates", 0) >= n // 5
            and faults.held_for_less_than(LOST_ANSWER_TIMEOUT_S / 2)
        ),
        90,
        interval=0.05,
        what="a fifth of the burst posted and a delayed answer held",
    )
    in_flight = Publication.objects.filter(
        pk__in=[p.pk for p in pubs], status=Publication.Status.PUBLISHING
    ).count()
    killed_at = time.monotonic()
    victim.kill9()
    row.extra.update(killed_pid=victim.pid, publishing_at_kill=in_flight)
    ctx.worker("blw2", concurrency=4)
    return killed_at


def _check_recovery_paths_ran(row: Row, faults: AnswerFaults, pubs) -> None:
    """Record which faults landed and which recovery paths ran; a drill in which one did
    not tested less than it claims, so it fails."""
    from campaigns.models import Publication, PublicationEvent

    counts = faults.snapshot()
    events = PublicationEvent.objects.filter(publication_id__in=[p.pk for p in pubs])
    S = Publication.Status
    # The sweeper's own transitions: the publish service never moves a row from queued
    # to queued, and its publishing -> unknown always records the attempt's "error".
    swept = (
        events.filter(from_status=S.PUBLISHING, to_status=S.UNKNOWN)
        .exclude(details__has_key="error")
        .count()
    )
    requeued = events.filter(from_status=S.QUEUED, to_status=S.QUEUED).count()
    lookup_attempts = events.filter(is_attempt=True, details__lookup_first=True).count()
    row.extra.update({f"answers_{k}": counts.get(k, 0) for k in CREATE_FAULTS})
    row.extra.update(
        creates=counts.get("creates", 0),
        lookups=counts.get("lookups", 0),
        lookups_found=counts.get("lookups_found", 0),
        lookup_answers_lost=counts.get("lookup_answers_lost", 0),
        lookup_attempts=lookup_attempts,
        swept_attempts=swept,
        swept_requeued=requeued,
    )
    not_exercised = [f"create answers lost by {k}" for k in CREATE_FAULTS if not counts.get(k)]
    if not counts.get("lookup_answers_lost"):
        not_exercised.append("a lost lookup answer")
    if not counts.get("lookups_found"):
        not_exercised.append("a lookup that found the post")
    if not swept:
        not_exercised.append("the sweeper recovering the killed worker's attempt")
    if not_exercised:
        row.status = "FAIL"
        row.note = "; ".join(filter(None, [row.note, "not exercised: " + ", ".join(not_exercised)]))
