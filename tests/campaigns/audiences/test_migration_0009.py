"""Migration 0009 (the live estimate's standing sample) runs both ways on a database with
people: on PostgreSQL the sample appears holding exactly the sampled people's segment
columns, follows later writes, and goes on the way back; SQLite gets none."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from campaigns.audiences import sample

BEFORE = [("audiences", "0008_admin_listing")]
AFTER = [("audiences", "0009_subscriber_sample")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _sample_rows() -> dict[int, tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, tags, language FROM {sample.TABLE} ORDER BY id")
        return {row[0]: (sorted(row[1]), row[2]) for row in cursor.fetchall()}


def _has_sample() -> bool:
    with connection.cursor() as cursor:
        return sample.TABLE in connection.introspection.table_names(cursor)


@pytest.mark.django_db(transaction=True)
def test_migration_0009_both_ways():
    old = _migrate(BEFORE)
    try:
        assert not _has_sample()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT i FROM generate_series(1, 100000) AS i"
                    f" WHERE {sample.in_sample_sql('i')} LIMIT 3"
                )
                inside = [row[0] for row in cursor.fetchall()]
                cursor.execute(
                    "SELECT i FROM generate_series(1, 100000) AS i"
                    f" WHERE NOT {sample.in_sample_sql('i')} LIMIT 3"
                )
                outside = [row[0] for row in cursor.fetchall()]
        else:
            inside, outside = [11, 12, 13], [21, 22, 23]
        Subscriber = old.get_model("audiences", "Subscriber")
        Subscriber.objects.bulk_create(
            [
                Subscriber(id=pk, email=f"p{pk}@example.org", tags=["vip", "内部"], language="en")
                for pk in inside + outside
            ]
        )
        new = _migrate(AFTER)
        Subscriber = new.get_model("audiences", "Subscriber")
        assert Subscriber.objects.count() == 6
        if connection.vendor != "postgresql":
            assert not _has_sample()
            return
        assert _sample_rows() == {pk: (["vip", "内部"], "en") for pk in inside}
        # Written after the migration: the triggers keep it.
        Subscriber.objects.filter(pk=inside[0]).update(tags=["beta"], language="zh-hans")
        Subscriber.objects.filter(pk=inside[1]).delete()
        Subscriber.objects.filter(pk__in=outside).update(tags=["beta"])
        assert _sample_rows() == {
            inside[0]: (["beta"], "zh-hans"),
            inside[2]: (["vip", "内部"], "en"),
        }
        _migrate(BEFORE)
        assert not _has_sample()
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
