"""CSV export of subscriptions, consent record included, for spreadsheets.

`export_chunks` is what the export view streams: a UTF-8 byte order mark (Excel reads a
CSV as the system's ANSI code page, GBK on Chinese Windows, without one), the header,
then the rows. On PostgreSQL the rows come from `COPY (SELECT ...) TO STDOUT` through
psycopg's copy API, formatted by the database; elsewhere `export_rows` builds them in
Python. Both give the same cells: tags as "a,b", times in ISO 8601 (UTC), and a cell
that a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage
return) prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator

from django.db import connection

from .models import MailingList, Subscriber, Subscription

BOM = "\ufeff"
HEADER = [
    "email",
    "name",
    "language",
    "timezone",
    "tags",
    "status",
    "consent_at",
    "consent_method",
    "consent_basis",
    "confirmed_at",
]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BLOCK = 256 * 1024


def _cell(value) -> str:
    # Spreadsheet formula injection: a cell starting with = + - @ would be executed.
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in FORMULA_STARTS else text


def header(mailing_list: MailingList | None) -> list[str]:
    return HEADER if mailing_list else [*HEADER, "list"]


def export_rows(mailing_list: MailingList | None = None) -> Iterator[list[str]]:
    """Header then one row per subscription of the list (of every list, with a "list"
    column, when `mailing_list` is None), consent record included: the plain path."""
    yield header(mailing_list)
    qs = Subscription.objects.select_related("subscriber", "mailing_list").order_by("pk")
    if mailing_list is not None:
        qs = qs.filter(mailing_list=mailing_list)
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
        if mailing_list is None:
            row.append(sub.mailing_list.slug)
        yield [_cell(v) for v in row]


def _sql_cell(expression: str) -> str:
    """The expression as the export writes it: defused like _cell, and NULL when empty
    so COPY leaves the cell empty rather than writing "" (as Python's csv does)."""
    return (
        f"NULLIF(CASE WHEN left({expression}, 1) IN ('=', '+', '-', '@', E'\\t', E'\\r')"
        f" THEN '''' || {expression} ELSE {expression} END, '')"
    )


def _sql_time(expression: str) -> str:
    """datetime.isoformat() of a UTC time: microseconds only when there are any."""
    utc = f"({expression} AT TIME ZONE 'UTC')"
    return (
        f"to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN date_trunc('second', {utc})"
        f" = {utc} THEN '' ELSE to_char({utc}, '.US') END || '+00:00'"
    )


def _copy_sql(mailing_list: MailingList | None) -> str:
    subscriber, subscription = Subscriber._meta.db_table, Subscription._meta.db_table
    # Free text is defused; statuses, methods and times never start with a formula sign.
    columns = [
        _sql_cell("s.email"),
        _sql_cell("s.name"),
        _sql_cell("s.language"),
        _sql_cell("s.timezone"),
        _sql_cell("array_to_string(s.tags, ',')"),
        "m.status",
        _sql_time("m.consent_at"),
        "m.consent_method",
        _sql_cell("m.consent_basis"),
        _sql_time("m.confirmed_at"),
    ]
    joins = f"{subscription} m JOIN {subscriber} s ON s.id = m.subscriber_id"
    if mailing_list is None:
        columns.append(_sql_cell("l.slug"))
        joins += f" JOIN {MailingList._meta.db_table} l ON l.id = m.mailing_list_id"
        where = ""
    else:
        where = f"WHERE m.mailing_list_id = {int(mailing_list.pk)}"
    select = ", ".join(columns)
    return f"COPY (SELECT {select} FROM {joins} {where} ORDER BY m.id) TO STDOUT WITH (FORMAT csv)"


class _Line:
    def write(self, value):
        return value


def export_chunks(mailing_list: MailingList | None = None) -> Iterator[bytes]:
    """The whole export as UTF-8 bytes in blocks: BOM, header, rows."""
    writer = csv.writer(_Line())
    yield (BOM + writer.writerow(header(mailing_list))).encode()
    if connection.vendor != "postgresql":
        rows = export_rows(mailing_list)
        next(rows)
        block: list[str] = []
        for row in rows:
            block.append(writer.writerow(row))
            if len(block) >= 2000:
                yield "".join(block).encode()
                block = []
        if block:
            yield "".join(block).encode()
        return
    with connection.cursor() as cursor, cursor.copy(_copy_sql(mailing_list)) as copy:
        buffer = bytearray()
        for data in copy:
            buffer += data
            if len(buffer) >= BLOCK:
                yield bytes(buffer)
                buffer.clear()
        if buffer:
            yield bytes(buffer)


def write_export(mailing_list: MailingList | None, out) -> int:
    """Write the export to a binary file object; returns the bytes written."""
    written = 0
    for chunk in export_chunks(mailing_list):
        out.write(chunk)
        written += len(chunk)
    return written
