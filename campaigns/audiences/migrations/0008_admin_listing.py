"""The admin listings at millions of subscribers (campaigns/audiences/listing.py): the
mailing lists' stored member counts, and on PostgreSQL the search indexes:

- audiences_subscriber_email_pattern: UPPER(email) text_pattern_ops, for the exact
  (email__iexact) and prefix (email__istartswith) address searches;
- audiences_subscriber_name_pattern: UPPER(name) text_pattern_ops, for 1-2 character
  name searches (a Chinese surname) by prefix;
- audiences_subscriber_name_trgm: GIN on UPPER(name) gin_trgm_ops (pg_trgm), for names
  containing the query, Chinese and Latin.

The indexes match the expressions Django writes for those lookups on PostgreSQL
(UPPER("name"::text) LIKE UPPER(...)); SQLite has no use for them and gets none, so they
are created here rather than declared on the model.
"""

from django.db import migrations, models, transaction

INDEXES = [
    "CREATE INDEX IF NOT EXISTS audiences_subscriber_email_pattern "
    "ON audiences_subscriber (UPPER(email) text_pattern_ops)",
    "CREATE INDEX IF NOT EXISTS audiences_subscriber_name_pattern "
    "ON audiences_subscriber (UPPER(name) text_pattern_ops)",
]
TRIGRAM = (
    "CREATE INDEX IF NOT EXISTS audiences_subscriber_name_trgm "
    "ON audiences_subscriber USING gin (UPPER(name) gin_trgm_ops)"
)
NAMES = [
    "audiences_subscriber_email_pattern",
    "audiences_subscriber_name_pattern",
    "audiences_subscriber_name_trgm",
]


def create_indexes(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for sql in INDEXES:
            cursor.execute(sql)
        # pg_trgm ships with Debian's PostgreSQL and is a trusted extension (the
        # database owner may create it). Without it, name search still works, unindexed.
        try:
            with transaction.atomic(using=connection.alias):
                cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except Exception:  # noqa: BLE001 - no extension: no trigram index
            return
        cursor.execute(TRIGRAM)


def drop_indexes(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for name in NAMES:
            cursor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("audiences", "0007_engagement_trigger")]

    operations = [
        migrations.AddField(
            model_name="mailinglist",
            name="subscriber_count",
            field=models.PositiveIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="mailinglist",
            name="subscriber_count_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(create_indexes, drop_indexes),
    ]
