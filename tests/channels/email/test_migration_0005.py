"""Migration 0005: Delivery's keys lose their database constraints (the freeze no longer
checks and row-locks each subscriber) and the publication's own index; the rows stay,
and deleting a subscriber or a publication still deletes their deliveries (the ORM's
cascade)."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from wagtail.models import Page

from campaigns.audiences.models import Subscriber
from channels.email.models import Delivery
from tests.factories import PublicationFactory

BEFORE = [("email_channel", "0004_seen_webhook_token")]
AFTER = [("email_channel", "0005_delivery_keys_without_constraints")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _delivery_constraints() -> dict:
    with connection.cursor() as cursor:
        return connection.introspection.get_constraints(cursor, Delivery._meta.db_table)


def _foreign_keys() -> set[str]:
    return {
        info["columns"][0]
        for info in _delivery_constraints().values()
        if info.get("foreign_key") is not None
    }


@pytest.mark.django_db(transaction=True)
def test_migration_keeps_the_rows_and_drops_the_key_checks():
    old = _migrate(BEFORE)
    try:
        publication = PublicationFactory(page=Page.get_first_root_node())
        subscriber = Subscriber.objects.create(email="ann@example.org")
        OldDelivery = old.get_model("email_channel", "Delivery")
        OldDelivery.objects.create(
            publication_id=publication.pk, subscriber_id=subscriber.pk, email=subscriber.email
        )
        assert _foreign_keys() == {"publication_id", "subscriber_id"}
    finally:
        _migrate(AFTER)
    assert _foreign_keys() == set()
    row = Delivery.objects.get(publication=publication)
    assert (row.subscriber_id, row.email, row.status) == (
        subscriber.pk,
        "ann@example.org",
        "pending",
    )
    indexes = {
        tuple(info["columns"])
        for info in _delivery_constraints().values()
        if info["index"] or info["unique"]
    }
    # The claim and the one-per-recipient constraint still lead with the publication;
    # the subscriber keeps its index for the cascade.
    assert ("publication_id", "status", "id") in indexes
    assert ("publication_id", "subscriber_id") in indexes
    assert ("subscriber_id",) in indexes
    assert ("publication_id",) not in indexes


@pytest.mark.django_db
def test_deleting_a_subscriber_or_a_publication_still_deletes_its_deliveries():
    root = Page.get_first_root_node()
    publication, other = PublicationFactory(page=root), PublicationFactory(page=root)
    ann = Subscriber.objects.create(email="ann@example.org")
    bob = Subscriber.objects.create(email="bob@example.org")
    for pub in (publication, other):
        for person in (ann, bob):
            Delivery.objects.create(publication=pub, subscriber=person, email=person.email)
    ann.delete()
    assert set(Delivery.objects.values_list("email", flat=True)) == {"bob@example.org"}
    publication.delete()
    assert list(Delivery.objects.values_list("publication_id", flat=True)) == [other.pk]
