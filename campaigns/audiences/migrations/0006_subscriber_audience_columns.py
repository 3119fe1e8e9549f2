"""Tags as an array (text[] + GIN on PostgreSQL, JSON text on SQLite) instead of
",a,b,"; the denormalised list_ids and suppressed columns with the triggers that keep
them; GIN indexes on tags, list_ids and attributes; an index on upper(email).
Existing rows are converted and reconciled here (tests/campaigns/audiences/
test_migration_0006.py runs it on real rows)."""

import json

from django.db import migrations, models
from django.db.models.functions import Upper

import campaigns.audiences.fields


def convert_tags(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE audiences_subscriber SET tags = ARRAY(SELECT DISTINCT lower(btrim(t)) "
                "FROM unnest(string_to_array(tags_old, ',')) t WHERE btrim(t) <> '' ORDER BY 1) "
                "WHERE tags_old <> ''"
            )
        return
    Subscriber = apps.get_model("audiences", "Subscriber")
    rows = Subscriber.objects.exclude(tags_old="").values_list("pk", "tags_old")
    with connection.cursor() as cursor:
        for pk, old in rows.iterator(chunk_size=2000):
            tags = sorted({t.strip().lower() for t in old.split(",") if t.strip()})
            cursor.execute(
                "UPDATE audiences_subscriber SET tags = %s WHERE id = %s",
                [json.dumps(tags, ensure_ascii=False), pk],
            )


def install_triggers(apps, schema_editor):
    from campaigns.audiences import triggers

    triggers.install(schema_editor.connection)
    triggers.reconcile(schema_editor.connection)


def uninstall_triggers(apps, schema_editor):
    from campaigns.audiences import triggers

    triggers.uninstall(schema_editor.connection)


def tags_back(apps, schema_editor):
    Subscriber = apps.get_model("audiences", "Subscriber")
    for subscriber in Subscriber.objects.exclude(tags=[]).only("pk", "tags").iterator():
        Subscriber.objects.filter(pk=subscriber.pk).update(
            tags_old="," + ",".join(subscriber.tags) + ","
        )


class Migration(migrations.Migration):
    dependencies = [("audiences", "0005_import_started_confirmation_sent")]

    operations = [
        migrations.RenameField("subscriber", "tags", "tags_old"),
        migrations.AddField(
            model_name="subscriber",
            name="tags",
            field=campaigns.audiences.fields.ListField(editable=False, verbose_name="tags"),
        ),
        migrations.AddField(
            model_name="subscriber",
            name="list_ids",
            field=campaigns.audiences.fields.ListField(
                base="integer", editable=False, verbose_name="subscribed lists"
            ),
        ),
        migrations.AddField(
            model_name="subscriber",
            name="suppressed",
            field=models.BooleanField(default=False, editable=False, verbose_name="suppressed"),
        ),
        migrations.RunPython(convert_tags, tags_back),
        migrations.RemoveField("subscriber", "tags_old"),
        migrations.AddIndex(
            model_name="subscriber",
            index=models.Index(Upper("email"), name="audiences_subscriber_upper"),
        ),
        migrations.RunPython(install_triggers, uninstall_triggers),
    ]
