"""Applying an import's valid rows, and the checks that need the database.

Two paths with the same results. On PostgreSQL the rows are streamed into a temporary
staging table with COPY (dropped when the transaction ends) and everything else is
set-based SQL: duplicates within the file, suppressed addresses and people who left or
are already on the list are found by joins, new subscribers inserted, and subscriptions
upserted with the consent record, all in the caller's transaction. Elsewhere (SQLite,
the embedded default) the plain path checks in Python and applies with bulk_create, in
chunks of CHUNK rows.

Either way an import creates subscribers that do not exist yet (address matched
exactly, with the file's name, language, time zone and tags), leaves existing people
and their existing subscriptions as they are, never subscribes a suppressed address or
someone who left the list, and records the consent of every subscription it creates.
Addresses are compared case-insensitively for the checks (str.lower in Python, upper()
in PostgreSQL, using the upper(email) indexes; they agree on the addresses people use).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable

from django.db import connection, transaction
from django.utils import timezone

from . import changes
from .import_check import checked_rows
from .import_reading import SKIPPED, problem_row, read_rows
from .models import ImportJob, Subscriber, Subscription, Suppression

CHUNK = 2000
PROGRESS_EVERY = 10_000
STAGE = "audiences_import_stage"
STAGE_COLUMNS = ("row", "email", "name", "language", "timezone", "tags")


def fast_path() -> bool:
    """COPY and set-based SQL: PostgreSQL only."""
    return connection.vendor == "postgresql"


def _stage(cursor, rows: Iterable[tuple[int, dict]], progress: Callable | None) -> int:
    """COPY the rows into a fresh staging table of this transaction; returns how many."""
    cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")
    cursor.execute(
        f"CREATE TEMPORARY TABLE {STAGE} (row integer NOT NULL, email text NOT NULL,"
        " key text GENERATED ALWAYS AS (upper(email)) STORED, name text NOT NULL,"
        " language text NOT NULL, timezone text NOT NULL, tags text[] NOT NULL) ON COMMIT DROP"
    )
    count = 0
    with cursor.copy(f"COPY {STAGE} ({', '.join(STAGE_COLUMNS)}) FROM STDIN") as copy:
        write = copy.write_row
        for row, v in rows:
            write((row, v["email"], v["name"], v["language"], v["timezone"], v["tags"]))
            count += 1
            if progress and count % PROGRESS_EVERY == 0:
                progress(count)
    cursor.execute(f"ANALYZE {STAGE}")
    return count


# The staged rows a check skips: a suppressed address, someone who left the list,
# someone already on it (unless this is the recheck of a run, where they are the
# ones a re-run added), and a later occurrence of an address kept at its first row.
_SKIPPED_SQL = f"""
WITH keys AS (SELECT key, min(row) AS first FROM {STAGE} GROUP BY key),
suppressed AS (
    SELECT DISTINCT k.key FROM keys k
    JOIN {Suppression._meta.db_table} x ON upper(x.email) = k.key
),
member AS (
    SELECT k.key, bool_or(m.status = %(unsubscribed)s) AS left_list FROM keys k
    JOIN {Subscriber._meta.db_table} s ON upper(s.email) = k.key
    JOIN {Subscription._meta.db_table} m
        ON m.subscriber_id = s.id AND m.mailing_list_id = %(list)s
    GROUP BY k.key
)
SELECT s.row, s.email,
    CASE WHEN x.key IS NOT NULL THEN 'suppressed'
         WHEN m.left_list THEN 'unsubscribed'
         WHEN m.key IS NOT NULL AND NOT %(recheck)s THEN 'already'
         ELSE 'duplicate' END,
    k.first
FROM {STAGE} s JOIN keys k ON k.key = s.key
LEFT JOIN suppressed x ON x.key = s.key
LEFT JOIN member m ON m.key = s.key
WHERE x.key IS NOT NULL OR m.left_list
   OR (m.key IS NOT NULL AND NOT %(recheck)s) OR s.row <> k.first
ORDER BY s.row
"""


def _skipped(cursor, mailing_list_id: int, recheck: bool) -> list[tuple[int, str, str, int]]:
    cursor.execute(
        _SKIPPED_SQL,
        {
            "list": mailing_list_id,
            "recheck": recheck,
            "unsubscribed": Subscription.Status.UNSUBSCRIBED,
        },
    )
    return cursor.fetchall()


def check_fast(
    data: bytes, encoding: str, mapping: dict, mailing_list_id: int, progress, keep_values: int
) -> tuple[list[str], int, list[dict]]:
    """The check on PostgreSQL: (header, valid row count, problems in the file's
    order). The first `keep_values` problems keep the row's cells, as the plain
    check's do; the rest are reported without them."""
    header, rows = checked_rows(data, encoding, mapping)
    rejected: list[dict] = []

    def valid():
        for row, _cells, values, problem in rows:
            if problem is None:
                yield row, values
            else:
                rejected.append(problem)

    with transaction.atomic(), connection.cursor() as cursor:
        staged = _stage(cursor, valid(), progress)
        skipped = _skipped(cursor, mailing_list_id, recheck=False)
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


def apply_fast(job: ImportJob, rows: Iterable[tuple[int, dict]], progress) -> int:
    """Apply the chosen rows in the caller's transaction: staged, rechecked (an
    address suppressed or a person who left since the report is left out), then
    subscribers inserted and subscriptions upserted. Returns the rows applied."""
    now = timezone.now()
    subscribers, subscriptions = Subscriber._meta.db_table, Subscription._meta.db_table
    # A new subscriber's list_ids is written as the subscription trigger would set it
    # (this list only, subscribed just below in the same transaction): the trigger
    # still checks every row but then rewrites none, which at a million rows is the
    # difference between seconds and minutes (a new row version and GIN entries each).
    with connection.cursor() as cursor:
        staged = _stage(cursor, rows, progress)
        gone = [(row,) for row, *_rest in _skipped(cursor, job.mailing_list_id, recheck=True)]
        if gone:
            cursor.executemany(f"DELETE FROM {STAGE} WHERE row = %s", gone)
        cursor.execute(
            f"INSERT INTO {subscribers} (email, name, language, timezone, attributes, tags,"
            " list_ids, suppressed, created_at, updated_at)"
            " SELECT email, name, language, timezone, '{}'::jsonb, tags, ARRAY[%(list)s],"
            " false, %(now)s, %(now)s"
            f" FROM {STAGE} ORDER BY row ON CONFLICT (email) DO NOTHING",
            {"now": now, "list": job.mailing_list_id},
        )
        if progress:
            progress(staged)
        cursor.execute(
            f"INSERT INTO {subscriptions} (subscriber_id, mailing_list_id, status, consent_at,"
            " consent_method, consent_text, consent_basis, source_ip_hash, confirmed_at,"
            " created_at)"
            " SELECT s.id, %(list)s, %(status)s, %(now)s, %(method)s, '', %(basis)s, '',"
            f" %(now)s, %(now)s FROM {STAGE} t JOIN {subscribers} s ON s.email = t.email"
            " ORDER BY t.row ON CONFLICT (subscriber_id, mailing_list_id) DO NOTHING",
            {
                "list": job.mailing_list_id,
                "status": Subscription.Status.SUBSCRIBED,
                "now": now,
                "method": Subscription.Method.IMPORT,
                "basis": job.consent_basis,
            },
        )
        changes.record_import_staged(cursor, job, now, STAGE)
        cursor.execute(f"SELECT count(*) FROM {STAGE}")
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
