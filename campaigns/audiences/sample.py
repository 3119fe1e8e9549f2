"""A standing random sample of the subscribers, for the segment builder's live estimate
at millions of people (PostgreSQL only; estimates.py reads it).

`audiences_subscriber_sample` holds the segmentable columns (those the segment
conditions test, segments.py) of every subscriber whose id hashes into the first
SAMPLE_TAKEN of SAMPLE_SLOTS slots: 1/32 of the people, about 3.1 %, chosen by a hash
of the id (not by when they signed up or were imported). Row triggers on the subscriber
table keep it equal to those people's rows whoever writes them (the ORM, COPY, the
list_ids / suppressed / last_engaged_at triggers of triggers.py): a WHEN clause on the
id, so the other 31/32 of the writes pay one hash and nothing else.

A segment's conditions run unchanged over the sample (its table is named like the
subscriber table in the query), read sequentially from a table a thirtieth of the
size and a fraction of the width. The count scaled by SAMPLE_SLOTS / SAMPLE_TAKEN is
off by about 1/sqrt(matches): 1,600 matches give 4.9 % at 95 % confidence.

Bulk loads that bypass triggers (session_replication_role = replica) call `refill`.
Below the services: no imports of ours; the migration that creates it (0009) calls
`create` and `drop`.
"""

from __future__ import annotations

TABLE = "audiences_subscriber_sample"
SUBSCRIBER = "audiences_subscriber"
SAMPLE_SLOTS = 1024
SAMPLE_TAKEN = 32
SHARE = SAMPLE_TAKEN / SAMPLE_SLOTS
# The subscriber columns the segment conditions test (and the id, for pk__in ones).
COLUMNS = [
    "id",
    "language",
    "timezone",
    "attributes",
    "tags",
    "list_ids",
    "suppressed",
    "last_engaged_at",
    "created_at",
]


def in_sample_sql(id_expression: str) -> str:
    """SQL that is true when the subscriber id `id_expression` is in the sample."""
    return f"((hashint8({id_expression}) & {SAMPLE_SLOTS - 1}) < {SAMPLE_TAKEN})"


_COLS = ", ".join(COLUMNS)
_NEW = ", ".join(f"NEW.{c}" for c in COLUMNS)
_SET = ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS if c != "id")

_FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION {TABLE}_put() RETURNS trigger AS $$
BEGIN
    INSERT INTO {TABLE} ({_COLS}) VALUES ({_NEW})
    ON CONFLICT (id) DO UPDATE SET {_SET};
    RETURN NULL;
END $$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION {TABLE}_drop() RETURNS trigger AS $$
BEGIN
    DELETE FROM {TABLE} WHERE id = OLD.id;
    RETURN NULL;
END $$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION {TABLE}_clear() RETURNS trigger AS $$
BEGIN
    TRUNCATE {TABLE};
    RETURN NULL;
END $$ LANGUAGE plpgsql;
"""

_TRIGGERS = [
    (f"{TABLE}_ins", "INSERT", f"FOR EACH ROW WHEN {in_sample_sql('NEW.id')}", "put"),
    (f"{TABLE}_upd", "UPDATE", f"FOR EACH ROW WHEN {in_sample_sql('NEW.id')}", "put"),
    (f"{TABLE}_del", "DELETE", f"FOR EACH ROW WHEN {in_sample_sql('OLD.id')}", "drop"),
    (f"{TABLE}_trunc", "TRUNCATE", "FOR EACH STATEMENT", "clear"),
]


def create(cursor) -> None:
    """Create the sample table, its triggers, and fill it (PostgreSQL). The triggers
    lock the subscriber table against writes until the transaction ends, so nothing
    written meanwhile is missed."""
    cursor.execute(
        f"CREATE TABLE IF NOT EXISTS {TABLE} AS SELECT {_COLS} FROM {SUBSCRIBER} WITH NO DATA"
    )
    cursor.execute(
        "SELECT 1 FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'", [TABLE]
    )
    if cursor.fetchone() is None:
        cursor.execute(f"ALTER TABLE {TABLE} ADD PRIMARY KEY (id)")
    cursor.execute(_FUNCTIONS)
    for name, event, each, function in _TRIGGERS:
        cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {SUBSCRIBER}")
        cursor.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON {SUBSCRIBER} {each} "
            f"EXECUTE FUNCTION {TABLE}_{function}()"
        )
    refill(cursor)


def refill(cursor) -> None:
    """Rewrite the sample from the subscriber table (after a load with triggers off)."""
    cursor.execute(f"TRUNCATE {TABLE}")
    cursor.execute(
        f"INSERT INTO {TABLE} ({_COLS}) SELECT {_COLS} FROM {SUBSCRIBER}"
        f" WHERE {in_sample_sql('id')}"
    )
    cursor.execute(f"ANALYZE {TABLE}")


def drop(cursor) -> None:
    for name, _event, _each, _function in _TRIGGERS:
        cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {SUBSCRIBER}")
    cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")
    for function in ("put", "drop", "clear"):
        cursor.execute(f"DROP FUNCTION IF EXISTS {TABLE}_{function}()")
