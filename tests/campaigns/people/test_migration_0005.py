"""Migration people 0005 runs both ways on a database with people: the search indexes for
company and phone become partial (only the people who have one) on PostgreSQL and whole
again on the way down, the searches find the same people throughout, and on
PostgreSQL they still read those indexes."""

import pytest
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor

from campaigns.audiences.models import Subscriber
from campaigns.people.search import phone_expression, search_people

BEFORE = [("people", "0004_key_account_created_label")]
AFTER = [("people", "0005_partial_search_indexes")]
NAMES = ["people_company_pattern", "people_company_trgm", "people_phone_trgm"]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def _definitions() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname = ANY(%s)", [NAMES]
        )
        return dict(cursor.fetchall())


def _found(query: str) -> set[str]:
    return {person.email for person in search_people(query)}


def _plan(queryset) -> str:
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        # A handful of rows is read whole whatever the indexes: leave the planner only
        # bitmap scans, to see which index answers the condition.
        for kind in ("seqscan", "indexscan", "indexonlyscan"):
            cursor.execute(f"SET LOCAL enable_{kind} = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def _searches_find_the_same_people():
    assert _found("ACME") == {"li@example.com", "zhao@example.com"}
    assert _found("星光") == {"wang@example.cn"}  # two characters: company by prefix
    assert _found("5555-1234") == {"li@example.com"}
    assert _found("nobody") == set()


@pytest.mark.django_db(transaction=True)
def test_migration_0005_both_ways():
    postgres = connection.vendor == "postgresql"
    _migrate(BEFORE)
    try:
        Subscriber.objects.create(
            email="li@example.com", attributes={"phone": "010 5555 1234", "company": "Acme Ltd"}
        )
        Subscriber.objects.create(email="zhao@example.com", attributes={"company": "acme ltd"})
        Subscriber.objects.create(email="wang@example.cn", attributes={"company": "星光贸易"})
        Subscriber.objects.create(email="someone@example.com", name="No company")
        # Enough companies and phones that reading a whole partial index costs more
        # than looking the words up in it.
        Subscriber.objects.bulk_create(
            Subscriber(
                email=f"staff{i}@example.org",
                attributes={"company": f"Firm {i:04d}", "phone": f"021 {i:04d} 0000"},
            )
            for i in range(3000)
        )
        if postgres:
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE audiences_subscriber")
        if postgres:
            assert all("WHERE" not in d for d in _definitions().values())
        _searches_find_the_same_people()

        _migrate(AFTER)
        if postgres:
            definitions = _definitions()
            assert sorted(definitions) == sorted(NAMES)
            for name, definition in definitions.items():
                key = "phone" if "phone" in name else "company"
                assert f"WHERE ((attributes ->> '{key}'::text) IS NOT NULL)" in definition
            # The searches' conditions imply the predicate: the partial indexes answer.
            people = Subscriber.objects.all()
            company = _plan(people.filter(attributes__company__icontains="acme"))
            assert "people_company_trgm" in company, company
            prefix = _plan(people.filter(attributes__company__istartswith="星光"))
            assert "people_company_pattern" in prefix, prefix
            phones = people.alias(digits=phone_expression()).filter(digits__contains="55551234")
            assert "people_phone_trgm" in _plan(phones)
        _searches_find_the_same_people()

        _migrate(BEFORE)
        if postgres:
            assert sorted(_definitions()) == sorted(NAMES)
            assert all("WHERE" not in d for d in _definitions().values())
        _searches_find_the_same_people()
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
