"""last_engaged_at follows every human open and click (a trigger on analytics events),
so segment engagement conditions test an indexed column instead of scanning events per
subscriber; events stored before this migration are read once here."""

from django.db import migrations


def forwards(apps, schema_editor):
    from campaigns.audiences import triggers

    triggers.install(schema_editor.connection)
    triggers.backfill_engagement(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("audiences", "0006_subscriber_audience_columns"),
        ("analytics", "0006_merge_first_flags_and_search"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
