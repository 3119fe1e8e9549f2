"""The database side of the audience columns (models.py says what they hold): GIN
indexes on PostgreSQL, and the triggers that keep Subscriber.list_ids and
Subscriber.suppressed equal to the subscription and suppression tables whoever writes
them (the ORM, bulk_create, COPY, raw SQL).

Why a denormalised list_ids array rather than an index on subscription (mailing_list,
status, subscriber): measured with EXPLAIN ANALYZE on PostgreSQL 15, 1M subscribers on
one list (95 % subscribed), the one-tag segment (44k rows) took 0.68 s with the list
test folded into the row (a GIN bitmap scan on tags, list and suppression rechecked on
the same heap row) against 1.19 s joining subscription (a parallel hash join that reads
the list's whole membership, and grows with the list, not the segment). The price is
on writes: a membership change rewrites the subscriber row. Statement-level triggers
with transition tables keep bulk writes set-based (one UPDATE per statement, rows
rewritten only when their lists changed).

On SQLite the same triggers are row-level (SQLite has no statement triggers); they are
(re)installed after every migrate, because SQLite rebuilds a table (and drops its
triggers) when a migration alters it.
"""

from __future__ import annotations

SUBSCRIBER = "audiences_subscriber"
SUBSCRIPTION = "audiences_subscription"
SUPPRESSION = "audiences_suppression"
EVENT = "analytics_event"


# --- PostgreSQL ---------------------------------------------------------------------
# A writer that keeps list_ids itself for its own statement sets this, transaction-local
# (SET LOCAL / set_config(..., true)): the subscription triggers then leave the
# statement's rows to it. Only the importer does (import_apply.apply_fast), and it
# recomputes with sync_list_ids_sql below before its transaction ends.
CALLER_KEEPS_LIST_IDS = "audiences.caller_keeps_list_ids"


def sync_list_ids_sql(ids: str) -> tuple[str, str]:
    """One set-based recomputation of list_ids for the subscribers `ids` (a SELECT of
    subscriber ids), as two plain SQL statements: lock, then update. Their memberships
    are grouped in one pass, rows rewritten only when their list changed.

    The subscribers are locked first, in id order: under READ COMMITTED an UPDATE that
    waits for a concurrent writer re-checks only its target row, so without the lock
    two transactions changing one person's lists at once (an import and a sign-up)
    would each write the lists as they were before the other's change. Each statement
    takes a new snapshot, so the UPDATE after the lock sees them."""
    lock = f"""SELECT 1 FROM {SUBSCRIBER}
      WHERE id IN (SELECT sid FROM ({ids}) i(sid)) ORDER BY id FOR NO KEY UPDATE"""
    update = f"""UPDATE {SUBSCRIBER} s SET list_ids = x.ids
      FROM (SELECT n.sid, coalesce(array_agg(m.mailing_list_id::integer
                       ORDER BY m.mailing_list_id) FILTER (WHERE m.status = 'subscribed'),
                       '{{}}') AS ids
              FROM (SELECT DISTINCT sid FROM ({ids}) i(sid)) n
              LEFT JOIN {SUBSCRIPTION} m ON m.subscriber_id = n.sid
             GROUP BY n.sid) x
     WHERE s.id = x.sid AND s.list_ids IS DISTINCT FROM x.ids"""
    return lock, update


def _pg_sync_list_ids(ids: str) -> str:
    """sync_list_ids_sql in the trigger function (PERFORM for the lock's SELECT)."""
    lock, update = sync_list_ids_sql(ids)
    return f"PERFORM{lock.removeprefix('SELECT')};\n    {update};"


_PG_FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION audiences_sync_list_ids() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('{CALLER_KEEPS_LIST_IDS}', true) = 'on' THEN
    RETURN NULL;  -- the writer recomputes these rows itself (sync_list_ids_sql)
  END IF;
  IF TG_OP = 'INSERT' THEN
    {_pg_sync_list_ids("SELECT subscriber_id FROM new_rows")}
  ELSIF TG_OP = 'DELETE' THEN
    {_pg_sync_list_ids("SELECT subscriber_id FROM old_rows")}
  ELSE
    {
    _pg_sync_list_ids(
        "SELECT subscriber_id FROM new_rows UNION ALL SELECT subscriber_id FROM old_rows"
    )
}
  END IF;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION audiences_sync_suppressed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE {SUBSCRIBER} s SET suppressed = true
     WHERE upper(s.email) IN (SELECT upper(email) FROM new_rows) AND NOT s.suppressed;
  ELSE
    PERFORM 1 FROM {SUBSCRIBER}
      WHERE upper(email) IN (SELECT upper(email) FROM old_rows) ORDER BY id FOR NO KEY UPDATE;
    UPDATE {SUBSCRIBER} s SET suppressed = EXISTS (
        SELECT 1 FROM {SUPPRESSION} x WHERE upper(x.email) = upper(s.email))
     WHERE upper(s.email) IN (SELECT upper(email) FROM old_rows);
  END IF;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION audiences_sync_suppressed_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM {SUBSCRIBER}
    WHERE upper(email) IN (SELECT upper(email) FROM old_rows
                           UNION SELECT upper(email) FROM new_rows) ORDER BY id FOR NO KEY UPDATE;
  UPDATE {SUBSCRIBER} s SET suppressed = EXISTS (
      SELECT 1 FROM {SUPPRESSION} x WHERE upper(x.email) = upper(s.email))
   WHERE upper(s.email) IN (SELECT upper(email) FROM old_rows
                            UNION SELECT upper(email) FROM new_rows);
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION audiences_sync_engaged() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE {SUBSCRIBER} s SET last_engaged_at = e.at
    FROM (SELECT substring(message_key from ':s([0-9]+)$')::bigint AS sid,
                 max(occurred_at) AS at
            FROM new_rows WHERE kind IN ('open', 'click') AND NOT is_bot GROUP BY 1) e
   WHERE s.id = e.sid AND (s.last_engaged_at IS NULL OR s.last_engaged_at < e.at);
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION audiences_subscriber_suppressed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  -- Updates made by the other triggers never change an address: skip them.
  IF pg_trigger_depth() > 1 THEN
    RETURN NULL;
  END IF;
  IF TG_OP = 'INSERT' THEN
    UPDATE {SUBSCRIBER} s SET suppressed = true
      FROM new_rows n, {SUPPRESSION} x
     WHERE s.id = n.id AND upper(x.email) = upper(n.email) AND NOT s.suppressed;
  ELSE
    UPDATE {SUBSCRIBER} s SET suppressed = EXISTS (
        SELECT 1 FROM {SUPPRESSION} x WHERE upper(x.email) = upper(s.email))
      FROM new_rows n JOIN old_rows o ON o.id = n.id
     WHERE s.id = n.id AND upper(o.email) <> upper(n.email);
  END IF;
  RETURN NULL;
END $$;
"""

_PG_TRIGGERS = [
    ("audiences_subscription_ins", SUBSCRIPTION, "INSERT", "NEW TABLE AS new_rows",
     "audiences_sync_list_ids"),
    ("audiences_subscription_upd", SUBSCRIPTION, "UPDATE",
     "OLD TABLE AS old_rows NEW TABLE AS new_rows", "audiences_sync_list_ids"),
    ("audiences_subscription_del", SUBSCRIPTION, "DELETE", "OLD TABLE AS old_rows",
     "audiences_sync_list_ids"),
    ("audiences_suppression_ins", SUPPRESSION, "INSERT", "NEW TABLE AS new_rows",
     "audiences_sync_suppressed"),
    ("audiences_suppression_upd", SUPPRESSION, "UPDATE",
     "OLD TABLE AS old_rows NEW TABLE AS new_rows", "audiences_sync_suppressed_update"),
    ("audiences_suppression_del", SUPPRESSION, "DELETE", "OLD TABLE AS old_rows",
     "audiences_sync_suppressed"),
    ("audiences_subscriber_ins", SUBSCRIBER, "INSERT", "NEW TABLE AS new_rows",
     "audiences_subscriber_suppressed"),
    ("audiences_subscriber_upd", SUBSCRIBER, "UPDATE",
     "OLD TABLE AS old_rows NEW TABLE AS new_rows", "audiences_subscriber_suppressed"),
    ("audiences_event_engaged", EVENT, "INSERT", "NEW TABLE AS new_rows",
     "audiences_sync_engaged"),
]  # fmt: skip

PG_INDEXES = [
    ("audiences_subscriber_tags_gin", "USING gin (tags)"),
    ("audiences_subscriber_lists_gin", "USING gin (list_ids)"),
    ("audiences_subscriber_attrs_gin", "USING gin (attributes jsonb_path_ops)"),
]


def _install_postgresql(cursor, tables) -> None:
    """Replace the functions (no table lock) and create what is missing. Runs after every
    migrate: on a live database a DROP/CREATE of the triggers or an ALTER TABLE would
    take exclusive locks behind a long import, and a write landing between a DROP and
    its CREATE would never be mirrored; so existing triggers, indexes and defaults are
    left alone (a migration changes them when their definition changes)."""
    cursor.execute(_PG_FUNCTIONS)
    cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
    existing = {row[0] for row in cursor.fetchall()}
    for name, table, event, referencing, function in _PG_TRIGGERS:
        if table not in tables or name in existing:  # analytics not migrated yet: 0007
            continue
        cursor.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {referencing} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        )
    cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", [SUBSCRIBER])
    indexes = {row[0] for row in cursor.fetchall()}
    for name, using in PG_INDEXES:
        if name not in indexes:
            cursor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {SUBSCRIBER} {using}")
    cursor.execute(
        "SELECT count(*) FROM information_schema.columns WHERE table_name = %s"
        " AND column_name IN ('tags', 'list_ids', 'suppressed') AND column_default IS NULL",
        [SUBSCRIBER],
    )
    if cursor.fetchone()[0]:
        # Bulk writers (COPY) may leave these columns out.
        cursor.execute(
            f"ALTER TABLE {SUBSCRIBER} ALTER COLUMN tags SET DEFAULT '{{}}', "
            "ALTER COLUMN list_ids SET DEFAULT '{}', ALTER COLUMN suppressed SET DEFAULT false"
        )


# --- SQLite -------------------------------------------------------------------------
def _sqlite_list_ids(subscriber: str) -> str:
    return (
        f"UPDATE {SUBSCRIBER} SET list_ids = (SELECT json_group_array(mailing_list_id) FROM "
        f"(SELECT mailing_list_id FROM {SUBSCRIPTION} WHERE subscriber_id = {subscriber} "
        f"AND status = 'subscribed' ORDER BY mailing_list_id)) WHERE id = {subscriber};"
    )


def _sqlite_suppressed(email: str) -> str:
    return (
        f"UPDATE {SUBSCRIBER} SET suppressed = EXISTS (SELECT 1 FROM {SUPPRESSION} x "
        f"WHERE upper(x.email) = upper({email})) WHERE upper(email) = upper({email});"
    )


_SQLITE_TRIGGERS = {
    "audiences_subscription_ins": (
        f"AFTER INSERT ON {SUBSCRIPTION}",
        _sqlite_list_ids("NEW.subscriber_id"),
    ),
    "audiences_subscription_upd": (
        f"AFTER UPDATE ON {SUBSCRIPTION}",
        _sqlite_list_ids("NEW.subscriber_id") + _sqlite_list_ids("OLD.subscriber_id"),
    ),
    "audiences_subscription_del": (
        f"AFTER DELETE ON {SUBSCRIPTION}",
        _sqlite_list_ids("OLD.subscriber_id"),
    ),
    "audiences_suppression_ins": (
        f"AFTER INSERT ON {SUPPRESSION}",
        _sqlite_suppressed("NEW.email"),
    ),
    "audiences_suppression_upd": (
        f"AFTER UPDATE OF email ON {SUPPRESSION}",
        _sqlite_suppressed("NEW.email") + _sqlite_suppressed("OLD.email"),
    ),
    "audiences_suppression_del": (
        f"AFTER DELETE ON {SUPPRESSION}",
        _sqlite_suppressed("OLD.email"),
    ),
    "audiences_subscriber_ins": (
        f"AFTER INSERT ON {SUBSCRIBER}",
        _sqlite_suppressed("NEW.email"),
    ),
    "audiences_subscriber_upd": (
        f"AFTER UPDATE OF email ON {SUBSCRIBER}",
        _sqlite_suppressed("NEW.email"),
    ),
    # A human open or click of "<publication>:s<subscriber>" moves last_engaged_at.
    "audiences_event_engaged": (
        f"AFTER INSERT ON {EVENT} FOR EACH ROW WHEN NEW.kind IN ('open', 'click') "
        "AND NOT NEW.is_bot AND instr(NEW.message_key, ':s') > 0",
        f"UPDATE {SUBSCRIBER} SET last_engaged_at = NEW.occurred_at WHERE id = "
        "CAST(substr(NEW.message_key, instr(NEW.message_key, ':s') + 2) AS INTEGER) "
        "AND (last_engaged_at IS NULL OR last_engaged_at < NEW.occurred_at);",
    ),
}


def _install_sqlite(cursor, tables) -> None:
    for name, (when, body) in _SQLITE_TRIGGERS.items():
        if name == "audiences_event_engaged" and EVENT not in tables:
            continue
        if "FOR EACH ROW" not in when:
            when += " FOR EACH ROW"
        cursor.execute(f"CREATE TRIGGER IF NOT EXISTS {name} {when} BEGIN {body} END")


def _ready(connection, cursor) -> bool:
    """Whether the columns exist (not so while migrating back past 0006)."""
    if SUBSCRIBER not in connection.introspection.table_names(cursor):
        return False
    columns = connection.introspection.get_table_description(cursor, SUBSCRIBER)
    return any(c.name == "list_ids" for c in columns)


def install(connection) -> None:
    """Create (or replace) the triggers and indexes; safe to run again."""
    with connection.cursor() as cursor:
        if not _ready(connection, cursor):
            return
        tables = connection.introspection.table_names(cursor)
        if connection.vendor == "postgresql":
            _install_postgresql(cursor, tables)
        elif connection.vendor == "sqlite":
            _install_sqlite(cursor, tables)


def uninstall(connection) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            tables = connection.introspection.table_names(cursor)
            for name, table, *_rest in _PG_TRIGGERS:
                if table in tables:
                    cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            for name, _using in PG_INDEXES:
                cursor.execute(f"DROP INDEX IF EXISTS {name}")
        elif connection.vendor == "sqlite":
            for name in _SQLITE_TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")


def reconcile(connection) -> None:
    """Recompute list_ids and suppressed for every subscriber from the tables they
    mirror (after a migration, or a bulk load that ran with triggers disabled)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Set-based (hash joins), rows rewritten only where they differ: a one-off
            # over the whole table, at ten million rows too.
            cursor.execute(
                f"UPDATE {SUBSCRIBER} s SET list_ids = x.ids FROM (SELECT subscriber_id AS sid, "
                "array_agg(mailing_list_id::integer ORDER BY mailing_list_id) AS ids "
                f"FROM {SUBSCRIPTION} WHERE status = 'subscribed' GROUP BY 1) x "
                "WHERE s.id = x.sid AND s.list_ids IS DISTINCT FROM x.ids"
            )
            cursor.execute(
                f"UPDATE {SUBSCRIBER} s SET list_ids = '{{}}' WHERE list_ids <> '{{}}' AND NOT "
                f"EXISTS (SELECT 1 FROM {SUBSCRIPTION} m WHERE m.subscriber_id = s.id "
                "AND m.status = 'subscribed')"
            )
            cursor.execute(
                f"UPDATE {SUBSCRIBER} SET suppressed = true WHERE NOT suppressed AND "
                f"upper(email) IN (SELECT upper(email) FROM {SUPPRESSION})"
            )
            cursor.execute(
                f"UPDATE {SUBSCRIBER} s SET suppressed = false WHERE suppressed AND NOT EXISTS "
                f"(SELECT 1 FROM {SUPPRESSION} x WHERE upper(x.email) = upper(s.email))"
            )
        else:
            cursor.execute(
                f"UPDATE {SUBSCRIBER} SET list_ids = (SELECT json_group_array(mailing_list_id) "
                f"FROM (SELECT mailing_list_id FROM {SUBSCRIPTION} m WHERE m.subscriber_id = "
                f"{SUBSCRIBER}.id AND m.status = 'subscribed' ORDER BY mailing_list_id)), "
                f"suppressed = EXISTS (SELECT 1 FROM {SUPPRESSION} x "
                f"WHERE upper(x.email) = upper({SUBSCRIBER}.email))"
            )


def backfill_engagement(connection) -> None:
    """Set last_engaged_at from the human opens and clicks already stored, for events
    recorded before the engagement trigger existed."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            sid = "substring(message_key from ':s([0-9]+)$')::bigint"
        else:
            sid = "CAST(substr(message_key, instr(message_key, ':s') + 2) AS INTEGER)"
        cursor.execute(
            f"UPDATE {SUBSCRIBER} SET last_engaged_at = e.at FROM (SELECT {sid} AS sid, "
            f"max(occurred_at) AS at FROM {EVENT} WHERE kind IN ('open', 'click') "
            "AND NOT is_bot AND message_key LIKE '%:s%' GROUP BY 1) e "
            f"WHERE {SUBSCRIBER}.id = e.sid AND ({SUBSCRIBER}.last_engaged_at IS NULL "
            f"OR {SUBSCRIBER}.last_engaged_at < e.at)"
        )
