"""Fewer indexes and key checks for imports (issue 19).

Every index costs each inserted subscriber: on PostgreSQL the plain upper(email) index
and the LIKE index Django adds for a unique CharField duplicate the upper(email)
text_pattern_ops index of 0008, which answers both exact and prefix look-ups. The change log's foreign
keys lose their database constraints (the ORM still cascades and nulls): an import
writes a row per person, and their deferred checks cost seconds at commit.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


# Dropped on PostgreSQL only: SQLite has no text_pattern_ops index, and its suppression
# triggers need the plain upper(email) one (the model keeps it for SQLite).
DUPLICATES = {
    "audiences_subscriber_email_4caabffd_like": "(email varchar_pattern_ops)",
    "audiences_subscriber_upper": "(upper((email)::text))",
}


def drop_duplicates(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in DUPLICATES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


def create_duplicates(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, columns in DUPLICATES.items():
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {name} ON audiences_subscriber {columns}"
            )


class Migration(migrations.Migration):

    dependencies = [
        ('audiences', '0011_audience_change'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(drop_duplicates, create_duplicates),
        migrations.AlterField(
            model_name='audiencechange',
            name='actor',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AlterField(
            model_name='audiencechange',
            name='mailing_list',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='audiences.mailinglist'),
        ),
        migrations.AlterField(
            model_name='audiencechange',
            name='subscriber',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='audiences.subscriber'),
        ),
    ]
