"""Incremental rollups of raw events into hourly and daily aggregates.

`update_rollups` adds every event above the watermark (and older than the lag) to the
hourly, daily, per-campaign daily and search-query tables with one INSERT ... SELECT ...
ON CONFLICT DO UPDATE each, then moves the watermark, all in one transaction. Running
it twice adds nothing the second time (idempotent). Late events - an event whose
occurred_at lies in an hour already rolled up - have a higher id than the watermark, so
they are added to their old hour when they arrive. The aggregation runs inside the
database, so its cost is proportional to the new events only.

Buckets are UTC hours and UTC days. Every table is written in the same transaction,
so the campaign dashboard, the overview and the home panel never see one table ahead of
another; RollupState.updated_at (`rolled_up_at`) is when the figures were last brought up
to date, shown on each dashboard as "as of".
"""

import datetime
from collections import Counter

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from .attribution import credit_conversions
from .events import REFLAG_WINDOW_SECONDS, lock_events
from .metrics import COUNTERS, HUMAN, SQL_COUNTERS
from .models import (
    CampaignDailyRollup,
    ConversionCredit,
    DailyRollup,
    Event,
    HourlyRollup,
    RollupState,
    SearchQueryDaily,
)

DIMENSIONS = ("campaign_id", "channel", "publication_id", "link_id", "page_id")
CAMPAIGN_DIMENSIONS = ("campaign_id", "channel")


def rollup_lag() -> datetime.timedelta:
    """Events are counted once they are this old (received), so scanner re-flagging
    (which looks back REFLAG_WINDOW_SECONDS) never changes an event already counted."""
    seconds = settings.ANALYTICS_ROLLUP_LAG_SECONDS
    return datetime.timedelta(seconds=max(seconds, REFLAG_WINDOW_SECONDS + 1))


def _bucket(granularity: str) -> str:
    if connection.vendor == "postgresql":
        # Django sets the session time zone to UTC, so date_trunc cuts UTC hours.
        if granularity == "hour":
            return "date_trunc('hour', e.occurred_at)"
        return "(e.occurred_at AT TIME ZONE 'UTC')::date"
    # SQLite stores naive UTC text "YYYY-MM-DD HH:MM:SS.ffffff".
    if granularity == "hour":
        return "strftime('%%Y-%%m-%%d %%H:00:00', e.occurred_at)"
    return "date(e.occurred_at)"


def _upsert_sql(table: str, bucket_column: str, granularity: str, dimensions=DIMENSIONS) -> str:
    metrics = [counter.name for counter in SQL_COUNTERS]
    # The counters added elsewhere start at 0 in a new row (the columns have no
    # database default).
    others = [counter.name for counter in COUNTERS if not counter.by_sql]
    columns = [bucket_column, *dimensions, *metrics, *others]
    select = (
        [_bucket(granularity), *(f"e.{d}" for d in dimensions)]
        + [
            f"SUM(CASE WHEN {counter.counts} THEN {counter.adds} ELSE 0 END)"
            for counter in SQL_COUNTERS
        ]
        + ["0"] * len(others)
    )
    key = ", ".join([bucket_column, *dimensions])
    updates = ", ".join(f"{m} = {table}.{m} + excluded.{m}" for m in metrics)
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) "
        f"SELECT {', '.join(select)} FROM {Event._meta.db_table} e "
        f"WHERE e.id > %s AND e.id <= %s "
        f"GROUP BY {', '.join(str(i) for i in range(1, len(dimensions) + 2))} "
        f"ON CONFLICT ({key}) DO UPDATE SET {updates}"
    )


def _search_sql() -> str:
    table = SearchQueryDaily._meta.db_table
    return (
        f"INSERT INTO {table} (day, page_id, engine, query, visits) "
        f"SELECT {_bucket('day')}, e.page_id, e.search_engine, e.search_query, COUNT(*) "
        f"FROM {Event._meta.db_table} e "
        f"WHERE e.id > %s AND e.id <= %s AND e.kind = 'pageview' AND {HUMAN} "
        f"AND e.search_engine <> '' "
        f"GROUP BY 1, 2, 3, 4 "
        f"ON CONFLICT (day, page_id, engine, query) DO UPDATE SET visits = {table}.visits + excluded.visits"
    )


def update_rollups(now: datetime.datetime | None = None, max_events: int = 2_000_000) -> int:
    """Fold new events into the rollup tables. Idempotent; returns events folded in.

    Holds the events advisory lock exclusively (PostgreSQL) so no drain is mid-commit
    below the new watermark.
    """
    now = now or timezone.now()
    with transaction.atomic():
        lock_events(exclusive=True)
        state, _ = RollupState.objects.select_for_update().get_or_create(name="events")
        start = state.last_event_id
        candidates = Event.objects.filter(id__gt=start, received_at__lte=now - rollup_lag())
        upper = candidates.order_by("-id").values_list("id", flat=True).first()
        if upper is None:
            # Nothing new, but the figures are current as of now: the dashboards' "as of".
            state.save(update_fields=["updated_at"])
            return 0
        upper = min(upper, start + max_events)
        with connection.cursor() as cursor:
            cursor.execute(_upsert_sql(HourlyRollup._meta.db_table, "hour", "hour"), [start, upper])
            cursor.execute(_upsert_sql(DailyRollup._meta.db_table, "day", "day"), [start, upper])
            cursor.execute(
                _upsert_sql(CampaignDailyRollup._meta.db_table, "day", "day", CAMPAIGN_DIMENSIONS),
                [start, upper],
            )
            cursor.execute(_search_sql(), [start, upper])
        # The conversions' credits per touch point and attribution model, and the
        # clicks that converted, counted on their own hour and row.
        _add_converting_clicks(credit_conversions(start, upper))
        count = Event.objects.filter(id__gt=start, id__lte=upper).count()
        state.last_event_id = upper
        state.save(update_fields=["last_event_id", "updated_at"])
    return count


def _add_converting_clicks(clicks: list[dict]) -> None:
    """Add 1 to `converting_clicks` in the hourly, daily and per-campaign daily rows of
    each click (analytics.attribution: each click once, on its first conversion)."""
    if not clicks:
        return
    hourly, daily, campaign_daily = Counter(), Counter(), Counter()
    for c in clicks:
        at = c["occurred_at"].astimezone(datetime.UTC)
        dims = tuple(c[d] for d in DIMENSIONS)
        hourly[(at.replace(minute=0, second=0, microsecond=0), *dims)] += 1
        daily[(at.date(), *dims)] += 1
        campaign_daily[(at.date(), c["campaign_id"], c["channel"])] += 1
    for model, bucket, dimensions, counts in (
        (HourlyRollup, "hour", DIMENSIONS, hourly),
        (DailyRollup, "day", DIMENSIONS, daily),
        (CampaignDailyRollup, "day", CAMPAIGN_DIMENSIONS, campaign_daily),
    ):
        table = model._meta.db_table
        # Every counter named: the columns have no database default.
        zeros = [c.name for c in COUNTERS if c.name != "converting_clicks"]
        columns = [bucket, *dimensions, *zeros, "converting_clicks"]
        sql = (
            f"INSERT INTO {table} ({', '.join(columns)}) "
            f"VALUES ({', '.join(['%s'] * len(columns))}) "
            f"ON CONFLICT ({', '.join([bucket, *dimensions])}) DO UPDATE SET "
            f"converting_clicks = {table}.converting_clicks + excluded.converting_clicks"
        )
        with connection.cursor() as cursor:
            cursor.executemany(sql, [[*key, *([0] * len(zeros)), n] for key, n in counts.items()])


def rolled_up_at() -> datetime.datetime | None:
    """When the rollups last caught up with the events (None: never)."""
    return RollupState.objects.filter(name="events").values_list("updated_at", flat=True).first()


def rebuild_rollups() -> int:
    """Drop every aggregate and fold all events in again (after a bulk import)."""
    with transaction.atomic():
        lock_events(exclusive=True)
        HourlyRollup.objects.all().delete()
        DailyRollup.objects.all().delete()
        CampaignDailyRollup.objects.all().delete()
        SearchQueryDaily.objects.all().delete()
        ConversionCredit.objects.all().delete()
        RollupState.objects.filter(name="events").delete()
    total = 0
    while True:
        done = update_rollups()
        total += done
        if not done:
            return total
