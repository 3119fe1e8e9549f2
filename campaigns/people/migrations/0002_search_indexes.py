"""People search indexes on PostgreSQL (campaigns/people/search.py): phone and company
live in Subscriber.attributes; these index the very expressions the search runs. SQLite
gets none (it runs the same queries unindexed).

Not atomic: the indexes are built CONCURRENTLY, so the subscriber table takes writes
while they build; IF NOT EXISTS, and an invalid one a failed build left is rebuilt."""

from django.db import migrations, transaction

PATTERN = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS people_company_pattern ON audiences_subscriber "
    "(UPPER((attributes ->> 'company')::text) text_pattern_ops)"
)
TRIGRAMS = [
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS people_company_trgm ON audiences_subscriber "
    "USING gin (UPPER((attributes ->> 'company')::text) gin_trgm_ops)",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS people_phone_trgm ON audiences_subscriber USING gin ("
    "(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE((attributes ->> 'phone'), ' ', ''),"
    " '-', ''), '(', ''), ')', ''), '+', ''), '.', '')) gin_trgm_ops)",
]
NAMES = ["people_company_pattern", "people_company_trgm", "people_phone_trgm"]


def _drop_invalid(cursor):
    """A CONCURRENTLY build that failed leaves an invalid index IF NOT EXISTS would keep."""
    cursor.execute(
        "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        " WHERE c.relname = ANY(%s) AND NOT i.indisvalid",
        [NAMES],
    )
    for (name,) in cursor.fetchall():
        cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


def create(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        _drop_invalid(cursor)
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
            cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("people", "0001_initial"), ("audiences", "0008_admin_listing")]

    operations = [migrations.RunPython(create, drop)]
