"""Migration 0012 (fewer indexes and key checks for imports) runs both ways on a database
with rows: the person and their change log stay, the change log's foreign key
constraints go, on PostgreSQL the two duplicate email indexes too (and come back on the way down),
and a change whose person is deleted through the ORM still goes with them."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("audiences", "0011_audience_change")]
AFTER = [("audiences", "0012_import_indexes")]
DROPPED = {"audiences_subscriber_upper", "audiences_subscriber_email_4caabffd_like"}
KEPT_ON_SQLITE = {"audiences_subscriber_upper"}


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _constraints(table: str) -> dict:
    with connection.cursor() as cursor:
        return connection.introspection.get_constraints(cursor, table)


def _email_indexes() -> set[str]:
    return {n for n, info in _constraints("audiences_subscriber").items() if info["index"]} & (
        DROPPED
    )


def _change_foreign_keys() -> set[str]:
    return {
        tuple(info["columns"])[0]
        for info in _constraints("audiences_audiencechange").values()
        if info["foreign_key"]
    }


@pytest.mark.django_db(transaction=True)
def test_migration_0012_both_ways():
    postgres = connection.vendor == "postgresql"
    old = _migrate(BEFORE)
    try:
        assert _email_indexes() == (DROPPED if postgres else KEPT_ON_SQLITE)
        assert _change_foreign_keys() == {"subscriber_id", "mailing_list_id", "actor_id"}
        person = old.get_model("audiences", "Subscriber").objects.create(
            email="王芳@例子.中国", name="王芳"
        )
        old.get_model("audiences", "AudienceChange").objects.create(
            subscriber_id=person.pk, at=timezone.now(), kind="subscribed"
        )

        new = _migrate(AFTER)
        # SQLite keeps its upper(email) index: its suppression triggers look it up.
        assert _email_indexes() == (set() if postgres else KEPT_ON_SQLITE)
        assert _change_foreign_keys() == set()
        Subscriber = new.get_model("audiences", "Subscriber")
        Change = new.get_model("audiences", "AudienceChange")
        assert Subscriber.objects.get(email__iexact="王芳@例子.中国").name == "王芳"
        assert Change.objects.get().subscriber_id == person.pk

        _migrate(BEFORE)
        assert _email_indexes() == (DROPPED if postgres else KEPT_ON_SQLITE)
        assert _change_foreign_keys() == {"subscriber_id", "mailing_list_id", "actor_id"}
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


@pytest.mark.django_db
def test_a_change_goes_with_its_person_without_a_database_constraint():
    from campaigns.audiences.models import AudienceChange, Subscriber

    person = Subscriber.objects.create(email="li@example.cn")
    other = Subscriber.objects.create(email="wang@example.cn")
    for someone in (person, other):
        AudienceChange.objects.create(subscriber=someone, at=timezone.now(), kind="subscribed")
    person.delete()
    assert list(AudienceChange.objects.values_list("subscriber_id", flat=True)) == [other.pk]
