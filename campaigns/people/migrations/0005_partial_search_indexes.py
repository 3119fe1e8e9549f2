"""The people search indexes (0002) hold only the people who have a company or a phone.

Most people have neither (an import never writes them), yet each of them cost an entry
in all three indexes: about a quarter of an import's subscriber INSERT at ten million
(bench/RESULTS.md, audiences). Partial indexes `WHERE (attributes ->> 'company') IS NOT
NULL` (and the same for phone) skip them. The searches need no change: their conditions
(UPPER(attributes ->> 'company') LIKE ..., the phone's digits LIKE ...) are strict in
that expression, so PostgreSQL proves the index predicate from them and uses the
partial indexes as it used the full ones.

Not atomic: each index is built CONCURRENTLY under a temporary name and swapped in, so
the subscriber table takes writes throughout and a search always has an index; reversed,
the full indexes come back the same way. SQLite has none of them."""

from django.db import migrations

COMPANY = "UPPER((attributes ->> 'company')::text)"
PHONE = (
    "REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE((attributes ->> 'phone'), ' ', ''),"
    " '-', ''), '(', ''), ')', ''), '+', ''), '.', '')"
)
HAS_COMPANY = "WHERE (attributes ->> 'company') IS NOT NULL"
HAS_PHONE = "WHERE (attributes ->> 'phone') IS NOT NULL"
# name: (how it indexes, its predicate once partial)
INDEXES = {
    "people_company_pattern": (f"({COMPANY} text_pattern_ops)", HAS_COMPANY),
    "people_company_trgm": (f"USING gin ({COMPANY} gin_trgm_ops)", HAS_COMPANY),
    "people_phone_trgm": (f"USING gin (({PHONE}) gin_trgm_ops)", HAS_PHONE),
}


def _rebuild(schema_editor, partial: bool) -> None:
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        trigrams = cursor.fetchone() is not None
        for name, (how, predicate) in INDEXES.items():
            if "gin_trgm_ops" in how and not trigrams:
                continue  # 0002 built none without pg_trgm: searched unindexed
            new = f"{name}_new"
            cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {new}")
            where = predicate if partial else ""
            cursor.execute(f"CREATE INDEX CONCURRENTLY {new} ON audiences_subscriber {how} {where}")
            cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
            cursor.execute(f"ALTER INDEX {new} RENAME TO {name}")


def partial(apps, schema_editor):
    _rebuild(schema_editor, partial=True)


def whole(apps, schema_editor):
    _rebuild(schema_editor, partial=False)


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("people", "0004_key_account_created_label")]

    operations = [migrations.RunPython(partial, whole)]
