"""Event.subscriber_id: the person an event is about, for the person's timeline
(campaigns.people). Existing rows are filled by two set-based UPDATEs (the message
key's "<publication>:s<id>", then conversions from their last click), and the timeline
index holds only rows naming someone.

Not atomic: on PostgreSQL the backfill runs in batches of BATCH ids, each UPDATE its own
transaction, and the index is built CONCURRENTLY, so a big event table is never locked
for the whole migration (SQLite: two UPDATEs in one transaction, a plain index)."""

from django.db import migrations, models, transaction

BATCH = 100_000
INDEX = models.Index(
    condition=models.Q(("subscriber_id", 0), _negated=True),
    fields=["subscriber_id", "-occurred_at", "-id"],
    name="event_subscriber_idx",
)

_PG_FROM_KEY = (
    "UPDATE analytics_event SET subscriber_id = substring(message_key from ':s([0-9]{1,18})$')::bigint"
    " WHERE message_key ~ '^[0-9]+:s[0-9]{1,18}$' AND subscriber_id = 0"
    " AND id >= %s AND id < %s"
)
_PG_CONVERSIONS = (
    "UPDATE analytics_event c SET subscriber_id = k.subscriber_id FROM analytics_event k"
    " WHERE c.kind = 'conversion' AND c.subscriber_id = 0 AND c.message_key LIKE 'click:%%'"
    " AND k.uid = substring(c.message_key from 7) AND k.subscriber_id <> 0"
    " AND c.id >= %s AND c.id < %s"
)
_SQLITE_FROM_KEY = (
    "UPDATE analytics_event SET subscriber_id ="
    " CAST(substr(message_key, instr(message_key, ':s') + 2) AS INTEGER)"
    " WHERE message_key GLOB '[0-9]*:s[0-9]*' AND subscriber_id = 0"
    " AND substr(message_key, instr(message_key, ':s') + 2) NOT GLOB '*[^0-9]*'"
    " AND substr(message_key, 1, instr(message_key, ':s') - 1) NOT GLOB '*[^0-9]*'"
)
_SQLITE_CONVERSIONS = (
    "UPDATE analytics_event SET subscriber_id = (SELECT k.subscriber_id FROM analytics_event k"
    " WHERE k.uid = substr(analytics_event.message_key, 7))"
    " WHERE kind = 'conversion' AND subscriber_id = 0 AND message_key LIKE 'click:%'"
    " AND EXISTS (SELECT 1 FROM analytics_event k WHERE k.uid = substr(analytics_event.message_key, 7)"
    " AND k.subscriber_id <> 0)"
)


def backfill(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(_SQLITE_FROM_KEY)
            cursor.execute(_SQLITE_CONVERSIONS)
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id), max(id) FROM analytics_event")
        low, high = cursor.fetchone()
        if low is None:
            return
        # Keys first over the whole table: a conversion's click may have any id.
        for sql in (_PG_FROM_KEY, _PG_CONVERSIONS):
            for start in range(low, high + 1, BATCH):
                with transaction.atomic(using=connection.alias):
                    cursor.execute(sql, [start, start + BATCH])


def _invalid_index_dropped(schema_editor, name):
    """A CONCURRENTLY build that failed leaves an invalid index behind: drop it."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE c.relname = %s AND NOT i.indisvalid",
            [name],
        )
        if cursor.fetchone():
            cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


def add_index(apps, schema_editor):
    model = apps.get_model("analytics", "Event")
    if schema_editor.connection.vendor == "postgresql":
        _invalid_index_dropped(schema_editor, INDEX.name)
        schema_editor.add_index(model, INDEX, concurrently=True)
    else:
        schema_editor.add_index(model, INDEX)


def remove_index(apps, schema_editor):
    model = apps.get_model("analytics", "Event")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(model, INDEX, concurrently=True)
    else:
        schema_editor.remove_index(model, INDEX)


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("analytics", "0008_goal_site_hosts")]

    operations = [
        migrations.AddField(
            model_name="event",
            name="subscriber_id",
            field=models.BigIntegerField(db_default=0, default=0),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(add_index, remove_index)],
            state_operations=[migrations.AddIndex(model_name="event", index=INDEX)],
        ),
    ]
