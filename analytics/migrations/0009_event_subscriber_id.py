"""Event.subscriber_id: the person an event is about, for the person's timeline
(campaigns.people). Existing rows are filled by two set-based UPDATEs (the message
key's "<publication>:s<id>", then conversions from their last click), and the timeline
index holds only rows naming someone."""

from django.db import migrations, models

_PG_FROM_KEY = (
    "UPDATE analytics_event SET subscriber_id = substring(message_key from ':s([0-9]{1,18})$')::bigint"
    " WHERE message_key ~ '^[0-9]+:s[0-9]{1,18}$' AND subscriber_id = 0"
)
_PG_CONVERSIONS = (
    "UPDATE analytics_event c SET subscriber_id = k.subscriber_id FROM analytics_event k"
    " WHERE c.kind = 'conversion' AND c.subscriber_id = 0 AND c.message_key LIKE 'click:%'"
    " AND k.uid = substring(c.message_key from 7) AND k.subscriber_id <> 0"
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
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_PG_FROM_KEY)
            cursor.execute(_PG_CONVERSIONS)
        else:
            cursor.execute(_SQLITE_FROM_KEY)
            cursor.execute(_SQLITE_CONVERSIONS)


class Migration(migrations.Migration):
    dependencies = [("analytics", "0008_goal_site_hosts")]

    operations = [
        migrations.AddField(
            model_name="event",
            name="subscriber_id",
            field=models.BigIntegerField(db_default=0, default=0),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="event",
            index=models.Index(
                condition=models.Q(("subscriber_id", 0), _negated=True),
                fields=["subscriber_id", "-occurred_at", "-id"],
                name="event_subscriber_idx",
            ),
        ),
    ]
