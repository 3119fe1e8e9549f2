"""Applying an import's valid rows, and the checks that need the database.

Two paths with the same results. On PostgreSQL the rows are streamed into a temporary
staging table with COPY (dropped when the transaction ends) and everything else is
set-based SQL: duplicates within the file, suppressed addresses and people who left or
are already on the list are found by joins, new subscribers inserted, and subscriptions
upserted with the consent record, all in the caller's transaction. Elsewhere (SQLite,
the embedded default) the plain path checks in Python and applies with bulk_create, in
chunks of CHUNK rows.

On PostgreSQL the check keeps its staged rows, the valid ones only, in an unlogged
table of the job's own (KEPT_PREFIX + job id) until the import: the import then
applies them without reading and checking the file again, and reads the file only when
that table is gone or does not hold the report's valid rows (a database restart
empties unlogged tables; sweep_kept drops those of finished or abandoned jobs).

Either way an import creates subscribers that do not exist yet (address matched
exactly, with the file's name, language, time zone and tags), leaves existing people
and their existing subscriptions as they are, never subscribes a suppressed address or
someone who left the list, and records the consent of every subscription it creates.
Addresses are compared case-insensitively for the checks (str.lower in Python, upper()
in PostgreSQL, using the upper(email) indexes; they agree on the addresses people use).
"""

from __future__ import annotations

import datetime
import heapq
from collections.abc import Callable, Iterable

from django.db import connection, transaction
from django.utils import timezone

from . import changes, triggers
from .erased import anyone_erased, erased_test
from .import_check import checked_rows
from .import_reading import SKIPPED, problem_row, read_rows
from .models import ImportJob, Subscriber, Subscription, Suppression

CHUNK = 2000
PROGRESS_EVERY = 10_000
STAGE = "audiences_import_stage"
STAGE_COLUMNS = ("row", "email", "name", "language", "timezone", "tags", "erased")
KEPT_PREFIX = "audiences_import_rows_"
# A checked job nobody confirmed keeps its rows this long; its import then reads the
# file again.
KEPT_SECONDS = 2 * 24 * 3600


def fast_path() -> bool:
    """COPY and set-based SQL: PostgreSQL only."""
    return connection.vendor == "postgresql"


def kept_table(job_id: int) -> str:
    return f"{KEPT_PREFIX}{int(job_id)}"


def _stage(
    cursor, rows: Iterable[tuple[int, dict]], progress: Callable | None, table: str = STAGE
) -> int:
    """COPY the rows into a fresh staging table; returns how many. STAGE is temporary
    (dropped when the transaction ends), any other name an unlogged table kept for the
    job's import."""
    cursor.execute(f"DROP TABLE IF EXISTS {table}")
    kind, end = ("TEMPORARY", " ON COMMIT DROP") if table == STAGE else ("UNLOGGED", "")
    cursor.execute(
        f"CREATE {kind} TABLE {table} (row integer NOT NULL, email text NOT NULL,"
        " key text GENERATED ALWAYS AS (upper(email)) STORED, name text NOT NULL,"
        " language text NOT NULL, timezone text NOT NULL, tags text[] NOT NULL,"
        f" erased boolean NOT NULL){end}"
    )
    # An erased person's address is known only by its keyed hash, which SQL cannot
    # compute: each row is tested here (no hashing while nobody was erased).
    erased = erased_test()
    count = 0
    with cursor.copy(f"COPY {table} ({', '.join(STAGE_COLUMNS)}) FROM STDIN") as copy:
        write = copy.write_row
        for row, v in rows:
            email = v["email"]
            write((row, email, v["name"], v["language"], v["timezone"], v["tags"], erased(email)))
            count += 1
            if progress and count % PROGRESS_EVERY == 0:
                progress(count)
    cursor.execute(f"ANALYZE {table}")
    return count


# The staged rows a check skips: a suppressed address, someone who left the list,
# someone already on it (unless this is the recheck of a run, where they are the
# ones a re-run added), and a later occurrence of an address kept at its first row.
# The people the file names who exist already are found first (MATCHED, analysed):
# planned in one statement, PostgreSQL would read the whole list's memberships when
# its statistics lag behind a large import, where the few matched people need a few
# index lookups. Each address is looked up in the upper(email) index, in sorted order
# (the lookups walk the index once, from one end to the other); OFFSET 0 keeps the
# planner from turning them into a hash join over every subscriber, which computes
# upper() of ten million addresses (1M addresses against 10M people: 15 s, and 2.7 s
# looked up).
MATCHED = "audiences_import_matched"
_MATCHED_SQL = f"""
CREATE TEMPORARY TABLE {MATCHED} ON COMMIT DROP AS
SELECT k.key, s.id FROM (SELECT DISTINCT key FROM {{stage}} ORDER BY key) k
CROSS JOIN LATERAL (
    SELECT id FROM {Subscriber._meta.db_table} WHERE upper(email) = k.key OFFSET 0
) s
"""
# An import's joins and groupings of a million rows spill to disk with the default
# work_mem (4 MB); this much lets them hash in memory, for the import's transaction.
IMPORT_WORK_MEM = "64MB"


def _import_settings(cursor) -> None:
    cursor.execute("SELECT set_config('work_mem', %s, true)", [IMPORT_WORK_MEM])


_SKIPPED_SQL = f"""
WITH keys AS (SELECT key, min(row) AS first FROM {{stage}} GROUP BY key),
suppressed AS (
    SELECT DISTINCT k.key FROM keys k
    JOIN {Suppression._meta.db_table} x ON upper(x.email) = k.key
    UNION SELECT key FROM {{stage}} WHERE erased
),
member AS (
    SELECT t.key, bool_or(m.status = %(unsubscribed)s) AS left_list FROM {MATCHED} t
    JOIN {Subscription._meta.db_table} m
        ON m.subscriber_id = t.id AND m.mailing_list_id = %(list)s
    GROUP BY t.key
)
SELECT s.row, s.email,
    CASE WHEN x.key IS NOT NULL THEN 'suppressed'
         WHEN m.left_list THEN 'unsubscribed'
         WHEN m.key IS NOT NULL AND NOT %(recheck)s THEN 'already'
         ELSE 'duplicate' END,
    k.first
FROM {{stage}} s JOIN keys k ON k.key = s.key
LEFT JOIN suppressed x ON x.key = s.key
LEFT JOIN member m ON m.key = s.key
WHERE x.key IS NOT NULL OR m.left_list
   OR (m.key IS NOT NULL AND NOT %(recheck)s) OR s.row <> k.first
ORDER BY s.row
"""


def _skipped(
    cursor, mailing_list_id: int, recheck: bool, table: str = STAGE
) -> list[tuple[int, str, str, int]]:
    """(row, email, reason code, first row of the address) of the staged rows skipped;
    in a transaction (MATCHED lasts until it ends)."""
    cursor.execute(f"DROP TABLE IF EXISTS {MATCHED}")
    cursor.execute(_MATCHED_SQL.format(stage=table))
    cursor.execute(f"ANALYZE {MATCHED}")
    cursor.execute(
        _SKIPPED_SQL.format(stage=table),
        {
            "list": mailing_list_id,
            "recheck": recheck,
            "unsubscribed": Subscription.Status.UNSUBSCRIBED,
        },
    )
    return cursor.fetchall()


def check_fast(
    data: bytes,
    encoding: str,
    mapping: dict,
    job_id: int,
    mailing_list_id: int,
    progress,
    keep_values: int,
) -> tuple[list[str], int, list[dict]]:
    """The check on PostgreSQL: (header, valid row count, problems in the file's
    order). The rows are COPYed as they are read and checked (the server stores them
    while Python reads on), into the job's kept table, which keeps the valid ones for
    the import. The first `keep_values` problems keep the row's cells, as the plain
    check's do; the rest are reported without them."""
    header, rows = checked_rows(data, encoding, mapping)
    rejected: list[dict] = []
    table = kept_table(job_id)

    def valid():
        for row, _cells, values, problem in rows:
            if problem is None:
                yield row, values
            else:
                rejected.append(problem)

    with transaction.atomic(), connection.cursor() as cursor:
        _import_settings(cursor)
        staged = _stage(cursor, valid(), progress, table)
        skipped = _skipped(cursor, mailing_list_id, recheck=False, table=table)
        if skipped:
            cursor.execute(f"DELETE FROM {table} WHERE row = ANY(%s)", [[s[0] for s in skipped]])
    by_row = {}
    merged = heapq.merge(
        ((p["row"], p) for p in rejected), ((s[0], s) for s in skipped), key=lambda t: t[0]
    )
    problems: list = [item for _row, item in merged]
    # The cells of the skipped rows the report shows, read again from the file.
    wanted = {p[0] for p in problems[:keep_values] if isinstance(p, tuple)}
    if wanted:
        last = max(wanted)
        for row, cells, _unreadable in read_rows(data, encoding)[1]:
            if row in wanted:
                by_row[row] = cells
            if row >= last:
                break
    for i, p in enumerate(problems):
        if isinstance(p, tuple):
            row, email, code, first = p
            params = {"row": first} if code == "duplicate" else None
            problems[i] = problem_row(row, by_row.get(row, []), SKIPPED, code, params, email=email)
    return header, staged - len(skipped), problems


def kept_rows(job: ImportJob) -> bool:
    """Whether the job's kept table holds exactly the rows its report called valid."""
    table = kept_table(job.pk)
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [table])
        if not cursor.fetchone()[0]:
            return False
        cursor.execute(f"SELECT count(*) FROM {table}")
        return cursor.fetchone()[0] == job.valid_rows


def discard_kept(job_id: int) -> None:
    """Drop the job's kept rows (in the caller's transaction, if any)."""
    if fast_path():
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {kept_table(job_id)}")


def sweep_kept(now=None) -> int:
    """Drop the kept tables of jobs that no longer wait for their import (done, failed,
    deleted) or were checked more than KEPT_SECONDS ago. Returns how many."""
    if not fast_path():
        return 0
    now = now or timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            " AND tablename LIKE %s",
            [KEPT_PREFIX.replace("_", r"\_") + "%"],
        )
        ids = {int(t.removeprefix(KEPT_PREFIX)) for (t,) in cursor.fetchall()}
    if not ids:
        return 0
    cutoff = now - datetime.timedelta(seconds=KEPT_SECONDS)
    waiting = set(
        ImportJob.objects.filter(
            pk__in=ids,
            status__in=(
                ImportJob.Status.CHECKING,
                ImportJob.Status.CHECKED,
                ImportJob.Status.RUNNING,
            ),
        )
        .exclude(status=ImportJob.Status.CHECKED, started_at__lt=cutoff)
        .values_list("pk", flat=True)
    )
    for job_id in ids - waiting:
        discard_kept(job_id)
    return len(ids - waiting)


# New people are inserted in address order and their subscriptions in id order: each
# index then takes its new entries in order, page after page, instead of at random
# places all over it (200,000 addresses into ten million: 8.5 s instead of 10-13 s).
_INSERT_SUBSCRIBERS = """
WITH created AS (
    INSERT INTO {subscribers} (email, name, language, timezone, attributes, tags, list_ids,
        suppressed, created_at, updated_at)
    SELECT email, name, language, timezone, '{{}}'::jsonb, tags, ARRAY[%(list)s], false,
        %(now)s, %(now)s
    FROM {stage} ORDER BY key ON CONFLICT (email) DO NOTHING RETURNING id
)
INSERT INTO audiences_import_created SELECT id FROM created
"""

_INSERT_SUBSCRIPTIONS = """
WITH joined AS (
    INSERT INTO {subscriptions} (subscriber_id, mailing_list_id, status, consent_at,
        consent_method, consent_text, consent_basis, source_ip_hash, confirmed_at, created_at)
    SELECT s.id, %(list)s, %(status)s, %(now)s, %(method)s, '', %(basis)s, '', %(now)s, %(now)s
    FROM {stage} t JOIN {subscribers} s ON s.email = t.email
    ORDER BY s.id ON CONFLICT (subscriber_id, mailing_list_id) DO NOTHING
    RETURNING subscriber_id
)
INSERT INTO audiences_import_subscribed SELECT subscriber_id FROM joined
"""

# Of the people subscribed, those who existed before (their list_ids are recomputed).
_JOINED = """
INSERT INTO audiences_import_joined SELECT j.id FROM audiences_import_subscribed j
WHERE NOT EXISTS (SELECT 1 FROM audiences_import_created c WHERE c.id = j.id)
"""


def _mark_erased(cursor, table: str) -> None:
    """Test the kept rows again for erased people: someone may have been erased since
    the check set the flag."""
    erased = erased_test()
    cursor.execute(f"SELECT row, email FROM {table} WHERE NOT erased")
    gone = [row for row, email in cursor.fetchall() if erased(email)]
    if gone:
        cursor.execute(f"UPDATE {table} SET erased = true WHERE row = ANY(%s)", [gone])


def apply_fast(job: ImportJob, rows: Iterable[tuple[int, dict]] | None, progress) -> int:
    """Apply the chosen rows in the caller's transaction: staged (or, with rows None,
    the job's kept rows), rechecked (an address suppressed or a person who left since
    the report is left out), then subscribers inserted and subscriptions upserted.
    Returns the rows applied.

    list_ids is kept here rather than by the subscription trigger (which skips this
    transaction's rows, triggers.CALLER_KEEPS_LIST_IDS): a subscriber this import
    creates is invisible to everyone else until it commits, and its one membership is
    this list, so it is written with ARRAY[list]; the people who existed and join the
    list are recomputed, locked, as the trigger would (triggers.sync_list_ids_sql).
    At a million rows the trigger's lock and regrouping of every row cost more than
    the inserts."""
    now = timezone.now()
    names = {
        "subscribers": Subscriber._meta.db_table,
        "subscriptions": Subscription._meta.db_table,
    }
    with connection.cursor() as cursor:
        _import_settings(cursor)
        if rows is None:
            table = kept_table(job.pk)
            cursor.execute(f"SELECT count(*) FROM {table}")
            staged = cursor.fetchone()[0]
            if anyone_erased():
                _mark_erased(cursor, table)
        else:
            table = STAGE
            staged = _stage(cursor, rows, progress)
        gone = [row for row, *_rest in _skipped(cursor, job.mailing_list_id, True, table)]
        if gone:
            cursor.execute(f"DELETE FROM {table} WHERE row = ANY(%s)", [gone])
        for temp in (
            "audiences_import_created",
            "audiences_import_subscribed",
            "audiences_import_joined",
        ):
            cursor.execute(f"DROP TABLE IF EXISTS {temp}")
            cursor.execute(f"CREATE TEMPORARY TABLE {temp} (id bigint) ON COMMIT DROP")
        cursor.execute("SELECT set_config(%s, 'on', true)", [triggers.CALLER_KEEPS_LIST_IDS])
        cursor.execute(
            _INSERT_SUBSCRIBERS.format(stage=table, **names),
            {"now": now, "list": job.mailing_list_id},
        )
        if progress:
            progress(staged)
        cursor.execute(
            _INSERT_SUBSCRIPTIONS.format(stage=table, **names),
            {
                "list": job.mailing_list_id,
                "status": Subscription.Status.SUBSCRIBED,
                "now": now,
                "method": Subscription.Method.IMPORT,
                "basis": job.consent_basis,
            },
        )
        cursor.execute("ANALYZE audiences_import_subscribed")
        cursor.execute(_JOINED)
        changes.record_import_staged(cursor, job, now, "audiences_import_subscribed")
        cursor.execute("ANALYZE audiences_import_joined")
        for statement in triggers.sync_list_ids_sql("SELECT id FROM audiences_import_joined"):
            cursor.execute(statement)
        cursor.execute("SELECT set_config(%s, 'off', true)", [triggers.CALLER_KEEPS_LIST_IDS])
        cursor.execute(f"SELECT count(*) FROM {table}")
        return cursor.fetchone()[0]


def apply_plain(job: ImportJob, rows: list[dict], progress) -> int:
    """The plain path (SQLite): bulk_create in chunks, conflicts left as they are."""
    now = timezone.now()
    imported = 0
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        Subscriber.objects.bulk_create(
            [
                Subscriber(
                    email=r["email"],
                    name=r["name"],
                    language=r["language"],
                    timezone=r["timezone"],
                    tags=r["tags"],
                )
                for r in chunk
            ],
            ignore_conflicts=True,
        )
        ids = dict(
            Subscriber.objects.filter(email__in=[r["email"] for r in chunk]).values_list(
                "email", "pk"
            )
        )
        created = Subscription.objects.bulk_create(
            [
                Subscription(
                    subscriber_id=ids[r["email"]],
                    mailing_list=job.mailing_list,
                    status=Subscription.Status.SUBSCRIBED,
                    consent_at=now,
                    consent_method=Subscription.Method.IMPORT,
                    consent_basis=job.consent_basis,
                    confirmed_at=now,
                )
                for r in chunk
                if r["email"] in ids
            ],
            ignore_conflicts=True,
        )
        imported += len(created)
        if progress:
            progress(start + len(chunk))
    return imported
