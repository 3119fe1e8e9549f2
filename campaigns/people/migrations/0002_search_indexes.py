"""People search indexes on PostgreSQL (campaigns/people/search.py): phone and company
live in Subscriber.attributes; these index the very expressions the search runs. SQLite
gets none (it runs the same queries unindexed)."""

from django.db import migrations, transaction

PATTERN = (
    "CREATE INDEX IF NOT EXISTS people_company_pattern ON audiences_subscriber "
    "(UPPER((attributes ->> 'company')::text) text_pattern_ops)"
)
TRIGRAMS = [
    "CREATE INDEX IF NOT EXISTS people_company_trgm ON audiences_subscriber "
    "USING gin (UPPER((attributes ->> 'company')::text) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS people_phone_trgm ON audiences_subscriber USING gin ("
    "(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE((attributes ->> 'phone'), ' ', ''),"
    " '-', ''), '(', ''), ')', ''), '+', ''), '.', '')) gin_trgm_ops)",
]
NAMES = ["people_company_pattern", "people_company_trgm", "people_phone_trgm"]


def create(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(PATTERN)
        try:
            with transaction.atomic(using=connection.alias):
                cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except Exception:  # noqa: BLE001 - no extension: searched unindexed
            return
        for sql in TRIGRAMS:
            cursor.execute(sql)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for name in NAMES:
            cursor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("people", "0001_initial"), ("audiences", "0008_admin_listing")]

    operations = [migrations.RunPython(create, drop)]
