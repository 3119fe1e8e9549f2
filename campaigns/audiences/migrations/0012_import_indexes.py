"""Fewer indexes and key checks for imports (issue 19).

Every index costs each inserted subscriber: the plain upper(email) index and the LIKE
index Django adds for a unique CharField duplicate the upper(email) text_pattern_ops
index of 0008, which answers both exact and prefix look-ups. The change log's foreign
keys lose their database constraints (the ORM still cascades and nulls): an import
writes a row per person, and their deferred checks cost seconds at commit.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


LIKE_INDEX = "audiences_subscriber_email_4caabffd_like"


def drop_like_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {LIKE_INDEX}")


def create_like_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {LIKE_INDEX} ON audiences_subscriber"
            " (email varchar_pattern_ops)"
        )


class Migration(migrations.Migration):

    dependencies = [
        ('audiences', '0011_audience_change'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(drop_like_index, create_like_index),
        migrations.RemoveIndex(
            model_name='subscriber',
            name='audiences_subscriber_upper',
        ),
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
