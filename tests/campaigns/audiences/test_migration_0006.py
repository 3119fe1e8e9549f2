"""Migrations 0006 and 0007 run forward on real rows written by the schema before them:
",a,b," tags become a list, list_ids and suppressed are filled from the subscription
and suppression tables, last_engaged_at from the human opens and clicks already stored,
and the triggers keep them from then on."""

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from campaigns.audiences import triggers

BEFORE = [
    ("audiences", "0005_import_started_confirmation_sent"),
    ("analytics", "0006_merge_first_flags_and_search"),
]
AFTER = [("audiences", "0007_engagement_trigger")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_migration_converts_existing_rows():
    old = _migrate(BEFORE)
    try:
        Subscriber = old.get_model("audiences", "Subscriber")
        MailingList = old.get_model("audiences", "MailingList")
        Subscription = old.get_model("audiences", "Subscription")
        Suppression = old.get_model("audiences", "Suppression")
        Event = old.get_model("analytics", "Event")
        now = timezone.now()
        news = MailingList.objects.create(name="News", slug="news-m")
        shop = MailingList.objects.create(name="Shop", slug="shop-m")
        ann = Subscriber.objects.create(email="Ann@example.org", tags=",b2b,vip,")
        bob = Subscriber.objects.create(email="bob@example.org", tags="")
        wang = Subscriber.objects.create(email="王芳@example.com", tags=",内部,")
        for subscriber, mailing_list, status in [
            (ann, news, "subscribed"),
            (ann, shop, "subscribed"),
            (bob, news, "pending"),
            (bob, shop, "subscribed"),
            (wang, news, "unsubscribed"),
        ]:
            Subscription.objects.create(
                subscriber=subscriber,
                mailing_list=mailing_list,
                status=status,
                consent_at=now,
                consent_method="import",
            )
        Suppression.objects.create(email="BOB@example.org", reason="hard_bounce")
        opened = now - datetime.timedelta(days=3)
        for uid, kind, at, key, bot in [
            ("m1", "open", opened, f"4:s{ann.pk}", False),
            ("m2", "open", now - datetime.timedelta(days=9), f"4:s{ann.pk}", False),
            ("m3", "click", now - datetime.timedelta(days=1), f"4:s{bob.pk}", True),
            ("m4", "send", now, f"4:s{wang.pk}", False),
        ]:
            Event.objects.create(
                uid=uid, kind=kind, occurred_at=at, received_at=at, message_key=key, is_bot=bot
            )
    finally:
        # Through 0007, then every later migration; then what `manage.py migrate`'s
        # post_migrate does for audiences: put back the triggers SQLite drops when a later
        # migration rebuilds a table. (Not the whole command: its post_migrate empties
        # the content type cache, and the next test's serialized rollback would then
        # insert content types twice.) The checks below use today's models.
        _migrate(AFTER)
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
        triggers.install(connection)

    from analytics.models import Event as NewEvent
    from campaigns.audiences import services
    from campaigns.audiences.models import MailingList as NewList
    from campaigns.audiences.models import Subscriber as NewSubscriber

    rows = {s.email: s for s in NewSubscriber.objects.all()}
    ann_row, bob_row, wang_row = (
        rows["Ann@example.org"],
        rows["bob@example.org"],
        rows["王芳@example.com"],
    )
    assert ann_row.tags == ["b2b", "vip"] and bob_row.tags == [] and wang_row.tags == ["内部"]
    assert ann_row.list_ids == sorted([news.pk, shop.pk])
    assert bob_row.list_ids == [shop.pk] and wang_row.list_ids == []
    assert (ann_row.suppressed, bob_row.suppressed, wang_row.suppressed) == (False, True, False)
    assert ann_row.last_engaged_at == opened  # the latest human open; bots do not count
    assert bob_row.last_engaged_at is None and wang_row.last_engaged_at is None

    # From now on the triggers keep them.
    news_list = NewList.objects.get(pk=news.pk)
    assert services.audience_count(mailing_list=news_list) == 1
    services.subscribe("王芳@example.com", news_list, method="api", consent_basis="t")
    assert services.audience_count(mailing_list=news_list) == 2
    assert services.audience_count(mailing_list=news_list, filters={"tags_any": ["内部"]}) == 1
    clicked = timezone.now()
    NewEvent.objects.create(
        uid="m5", kind="click", occurred_at=clicked, received_at=clicked,
        message_key=f"5:s{wang.pk}",
    )  # fmt: skip
    wang_row.refresh_from_db()
    assert wang_row.last_engaged_at == clicked
