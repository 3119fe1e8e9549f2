"""The standing 1/32 sample of the subscribers the live segment estimate reads
(campaigns/audiences/sample.py): its table, its row triggers, and its rows copied from
the subscribers already there. PostgreSQL only: SQLite always counts exactly.

On a large table the copy reads the subscriber table once (about a minute at ten
million) with writes to it held until the migration commits."""

from django.db import migrations

from campaigns.audiences import sample


def create_sample(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        sample.create(cursor)


def drop_sample(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        sample.drop(cursor)


class Migration(migrations.Migration):
    dependencies = [("audiences", "0008_admin_listing")]

    operations = [migrations.RunPython(create_sample, drop_sample)]
