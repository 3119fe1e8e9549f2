"""bench.audiences: the code paths of main before issue 19 (de5454c), as the baseline.

Counts and the subscriber index's queries are written as the SQL main's ORM sent
(services.audience_count: members through IN, suppression as a per-row EXISTS,
DISTINCT; tags with LIKE '%,a,%'; the Wagtail index's icontains search), and run on
the old-layout copy of the same people (schema bench_baseline, see
audiences_load.BASELINE_DDL) with search_path bench_baseline, public. Export is main's
export_rows (ORM, 2,000 rows a fetch, csv writer per row) and import main's job
(audiences_baseline_importing, a frozen copy of main's importing.py); both run on the
real tables, on a capped sample (they are slow; reported as rows/s).
"""

from __future__ import annotations

import csv
import datetime
import time

SEARCH_PATH = "SET search_path TO bench_baseline, public"

# main's list_audience: members through IN (subscriptions), suppression as EXISTS per
# row (UPPER = UPPER), and apply_filters' final DISTINCT.
_AUDIENCE = (
    "SELECT COUNT(*) FROM (SELECT DISTINCT s.* FROM audiences_subscriber s"
    " WHERE s.id IN (SELECT u.subscriber_id FROM audiences_subscription u"
    "   WHERE u.mailing_list_id = %(list)s AND u.status = 'subscribed')"
    " AND NOT EXISTS (SELECT 1 FROM audiences_suppression p WHERE UPPER(p.email::text) = UPPER(s.email::text))"
    " {cond}) AS subquery"
)
# main's engagement filter as the issue measured it (the saved segments' "engaged" key:
# last_engaged_at >= since). main's builder row "engaged" also ORed a per-subscriber
# EXISTS over analytics events by message key, 100x slower again (21 s at 200,000 on
# an empty events table); the faster of main's two ways is the baseline.
_ENGAGED = "s.last_engaged_at >= %(since)s"


def _tag(tag: str) -> str:
    return f"s.tags::text LIKE '%%,{tag},%%'"


def count_sql(segment: dict) -> str:
    """main's count for one of the reference segments (audiences.REFERENCE_SEGMENTS)."""
    kind = segment["kind"]
    if kind == "tag":
        cond = _tag(segment["tags"][0])
    elif kind == "tags_all":
        cond = " AND ".join(_tag(t) for t in segment["tags"])
    elif kind == "tags_any":
        cond = "(" + " OR ".join(_tag(t) for t in segment["tags"]) + ")"
    elif kind == "attribute":
        cond = "(s.attributes -> %(key)s) = to_jsonb(%(value)s::text)"
    elif kind == "engaged":
        cond = _ENGAGED
    elif kind == "combined":
        cond = (
            f"{_tag(segment['tags'][0])} AND (s.attributes -> %(key)s) = to_jsonb(%(value)s::text)"
            " AND s.language = %(language)s AND s.last_engaged_at < %(lapsed)s"
        )
    else:
        raise ValueError(kind)
    return _AUDIENCE.format(cond="AND " + cond)


def count(connection, segment: dict, list_id: int, now: datetime.datetime) -> int:
    params = {
        "list": list_id,
        "key": segment.get("key", ""),
        "value": segment.get("value", ""),
        "language": segment.get("language", ""),
        "since": now - datetime.timedelta(days=segment.get("days", 30)),
        "lapsed": now - datetime.timedelta(days=segment.get("lapsed_days", 90)),
    }
    with connection.cursor() as cur:
        cur.execute(SEARCH_PATH)
        try:
            cur.execute(count_sql(segment), params)
            return cur.fetchone()[0]
        finally:
            cur.execute("SET search_path TO public")


def list_count(connection, list_id: int) -> int:
    with connection.cursor() as cur:
        cur.execute(SEARCH_PATH)
        try:
            cur.execute(_AUDIENCE.format(cond=""), {"list": list_id})
            return cur.fetchone()[0]
        finally:
            cur.execute("SET search_path TO public")


# main's subscriber index: Wagtail's ModelViewSet with search_fields ["email", "name"]
# (icontains on each), ordered by email, 20 a page, with the count of matches.
INDEX_QUERIES = {
    "index": ("", []),
    "search": ("WHERE UPPER(email::text) LIKE UPPER(%s) OR UPPER(name::text) LIKE UPPER(%s)", 2),
    "filter_language": ("WHERE language = %s", 1),
}


def index_page(connection, kind: str, term: str = "") -> int:
    where, n = INDEX_QUERIES[kind]
    if kind == "search":
        params = [f"%{term}%"] * 2
    elif kind == "filter_language":
        params = [term]
    else:
        params = []
    with connection.cursor() as cur:
        cur.execute(SEARCH_PATH)
        try:
            cur.execute(f"SELECT COUNT(*) FROM audiences_subscriber {where}", params)
            total = cur.fetchone()[0]
            cur.execute(
                "SELECT id, email, name, language, created_at FROM audiences_subscriber"
                f" {where} ORDER BY email ASC LIMIT 20",
                params,
            )
            cur.fetchall()
            return total
        finally:
            cur.execute("SET search_path TO public")


# --- export: main's importing.export_rows and the view's CSV writer, as they were ------
BOM = "\ufeff"


def _cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def export_rows(mailing_list, limit: int):
    """main's export_rows (ORM, select_related, iterator of 2,000), first `limit` rows."""
    from campaigns.audiences.models import Subscription

    header = ["email", "name", "language", "timezone", "tags", "status", "consent_at"]
    header += ["consent_method", "consent_basis", "confirmed_at"]
    yield header
    qs = Subscription.objects.select_related("subscriber", "mailing_list").order_by("pk")
    qs = qs.filter(mailing_list=mailing_list)[:limit]
    for sub in qs.iterator(chunk_size=2000):
        s = sub.subscriber
        row = [
            s.email,
            s.name,
            s.language,
            s.timezone,
            ",".join(s.tag_list),
            sub.status,
            sub.consent_at.isoformat(),
            sub.consent_method,
            sub.consent_basis,
            sub.confirmed_at.isoformat() if sub.confirmed_at else "",
        ]
        yield [_cell(v) for v in row]


class _Echo:
    def write(self, value):
        return value


def export(mailing_list, limit: int) -> tuple[int, float]:
    """(rows, seconds) of writing main's CSV for the first `limit` rows of the list."""
    writer = csv.writer(_Echo())
    started = time.perf_counter()
    rows = 0
    size = len(BOM.encode())
    for row in export_rows(mailing_list, limit):
        size += len(writer.writerow(row).encode())
        rows += 1
    return rows - 1, time.perf_counter() - started


# --- import: main's import job, its two steps (check, then re-check and apply) -------
def run_import(data: bytes, encoding: str, mailing_list_id: int) -> dict:
    """main's import of `data` end to end (audiences_baseline_importing, a frozen copy):
    checking every row, then, as its job's second step, checking again and applying
    the valid rows in one transaction, 2,000 per bulk_create. Timed."""
    from django.db import transaction

    from bench import audiences_baseline_importing as old
    from campaigns.audiences.models import ImportJob, MailingList

    mailing_list = MailingList.objects.get(pk=mailing_list_id)
    mapping = {"email": 0, "name": 1, "language": 2, "timezone": 3, "tags": 4}
    started = time.perf_counter()
    _header, clean, problems = old.validate_import(data, encoding, mapping, mailing_list)
    _header, clean, _problems = old.validate_import(
        data, encoding, mapping, mailing_list, recheck=True
    )
    job = ImportJob(mailing_list=mailing_list, consent_basis="bench baseline")
    with transaction.atomic():
        imported = old._apply(job, clean, lambda n: None)
    return {
        "rows": len(clean) + len(problems),
        "imported": imported,
        "problems": len(problems),
        "seconds": time.perf_counter() - started,
    }
