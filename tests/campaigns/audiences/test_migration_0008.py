"""Migration 0008 (the admin listings) runs both ways on a database with rows: the lists
keep their rows with no stored count yet, and on PostgreSQL the search indexes appear
and go."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("audiences", "0007_engagement_trigger")]
AFTER = [("audiences", "0008_admin_listing")]
INDEXES = {
    "audiences_subscriber_email_pattern",
    "audiences_subscriber_name_pattern",
    "audiences_subscriber_name_trgm",
}


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _indexes() -> set[str]:
    with connection.cursor() as cursor:
        return {
            c
            for c, info in connection.introspection.get_constraints(
                cursor, "audiences_subscriber"
            ).items()
            if info["index"]
        } & INDEXES


@pytest.mark.django_db(transaction=True)
def test_migration_0008_both_ways():
    old = _migrate(BEFORE)
    try:
        assert _indexes() == set()
        old.get_model("audiences", "MailingList").objects.create(name="News", slug="news-0008")
        old.get_model("audiences", "Subscriber").objects.create(email="王芳@例子.中国", name="王芳")
        new = _migrate(AFTER)
        news = new.get_model("audiences", "MailingList").objects.get(slug="news-0008")
        assert news.subscriber_count is None and news.subscriber_count_at is None
        assert new.get_model("audiences", "Subscriber").objects.get().name == "王芳"
        assert _indexes() == (INDEXES if connection.vendor == "postgresql" else set())
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
