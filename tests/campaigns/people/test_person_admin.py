"""The People screens over HTTP: search by each field (Chinese too), the person page,
notes, key accounts (panel, segment condition), who sees and who edits; the event
subscriber backfill migration."""

import datetime
import importlib

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from analytics.models import Event
from campaigns.audiences import segments
from campaigns.audiences.models import Subscriber
from campaigns.people import key_accounts
from campaigns.people.models import KeyAccount, Note
from campaigns.people.search import search_people

pytestmark = pytest.mark.django_db
T0 = datetime.datetime(2026, 11, 2, 9, 0, tzinfo=datetime.UTC)


@pytest.fixture
def people(wang):
    li = Subscriber.objects.create(
        email="li@example.com",
        name="李雷",
        attributes={"phone": "010 5555 1234", "company": "Acme Ltd"},
    )
    zhao = Subscriber.objects.create(
        email="zhao@example.com", name="赵敏", attributes={"company": "acme ltd"}
    )
    return wang, li, zhao


@pytest.mark.parametrize(
    "query, expected",
    [
        ("wang@example", {"wang@example.cn"}),
        ("王芳", {"wang@example.cn"}),
        ("王", {"wang@example.cn"}),
        ("13800138000", {"wang@example.cn"}),
        ("138 0013", {"wang@example.cn"}),
        ("5555-1234", {"li@example.com"}),
        ("星光", set()),  # two characters: company by prefix
        ("上海", {"wang@example.cn"}),
        ("星光贸易", {"wang@example.cn"}),
        ("ACME", {"li@example.com", "zhao@example.com"}),
        ("nobody", set()),
    ],
)
def test_search_each_field(people, query, expected):
    assert {p.email for p in search_people(query)} == expected


def test_marketer_finds_opens_notes_and_marks(client, people, marketer):
    wang = people[0]
    client.force_login(marketer)
    home = client.get("/admin/")
    assert reverse("people_search") in home.content.decode()
    found = client.get(reverse("people_search"), {"q": "13800138000"})
    assert reverse("people_person", args=[wang.pk]) in found.content.decode()
    page = client.get(reverse("people_person", args=[wang.pk]))
    assert page.status_code == 200 and "上海星光贸易" in page.content.decode()
    client.post(reverse("people_add_note", args=[wang.pk]), {"text": "客户要求回电"})
    assert Note.objects.get(subscriber=wang).author == marketer
    assert "客户要求回电" in client.get(reverse("people_person", args=[wang.pk])).content.decode()
    client.post(reverse("people_key_account", args=[wang.pk]), {"owner": marketer.pk})
    assert KeyAccount.objects.get(subscriber=wang).owner == marketer
    home = client.get("/admin/").content.decode()
    assert 'data-home-panel="key-accounts"' in home and "王芳" in home
    # listing and edit page link to the person page
    listing = client.get(reverse("subscriber:index")).content.decode()
    assert reverse("people_person", args=[wang.pk]) in listing
    edit = client.get(reverse("subscriber:edit", args=[wang.pk])).content.decode()
    assert reverse("people_person", args=[wang.pk]) in edit


def test_leadership_reads_but_does_not_edit(client, people, leader, editor):
    wang = people[0]
    client.force_login(leader)
    page = client.get(reverse("people_person", args=[wang.pk]))
    assert page.status_code == 200 and "data-note-form" not in page.content.decode()
    # Wagtail's admin answers a refused view with a redirect and a message.
    assert client.post(reverse("people_add_note", args=[wang.pk]), {"text": "x"}).status_code != 200
    client.post(reverse("people_key_account", args=[wang.pk]), {"owner": leader.pk})
    assert not Note.objects.exists() and not KeyAccount.objects.exists()
    client.force_login(editor)
    refused = client.get(reverse("people_person", args=[wang.pk]))
    assert refused.status_code in (302, 403) and "王芳" not in refused.content.decode()
    assert client.get(reverse("people_search")).status_code in (302, 403)
    assert reverse("people_search") not in client.get("/admin/").content.decode()


def test_company_key_account_covers_its_people_and_the_segment_counts(people, marketer, leader):
    wang, li, zhao = people
    key_accounts.mark(li, marketer, whole_company=True)  # Acme: li and zhao
    key_accounts.mark(wang, leader)
    assert key_accounts.account_for(zhao).company == "ACME LTD"
    everyone = list(Subscriber.objects.all())

    def count(op, value="any"):
        cleaned = segments.clean_filters(
            {"match": "all", "rules": [{"field": "key_account", "op": op, "value": value}]}
        )
        condition = segments.rules_condition(cleaned, T0)
        return Subscriber.objects.filter(condition).count()

    def brute(owner=None):
        result = set()
        for p in everyone:
            account = key_accounts.account_for(p)
            if account and (owner is None or account.owner_id == owner.pk):
                result.add(p.pk)
        return result

    assert count("is") == len(brute()) == 3
    assert count("is", str(marketer.pk)) == len(brute(marketer)) == 2
    assert count("is_not", str(leader.pk)) == len(everyone) - len(brute(leader))


def test_panel_last_contact_and_open_cases(people, marketer, monkeypatch):
    from campaigns.people import registry

    wang = people[0]
    key_accounts.mark(wang, marketer)
    Event.objects.create(
        uid="e1", kind="send", occurred_at=T0, received_at=T0, subscriber_id=wang.pk
    )

    class Cases:
        name = "cases-test"

        def timeline(self, s, before, limit):
            return []

        def open_cases(self, ids):
            return {i: 2 for i in ids}

    monkeypatch.setitem(registry._providers, "cases-test", Cases())
    [row] = key_accounts.owned_accounts(marketer)
    assert row["last_contact"] == T0 and row["open_cases"] == 2
    monkeypatch.delitem(registry._providers, "cases-test")
    assert key_accounts.owned_accounts(marketer)[0]["open_cases"] == 0


@pytest.mark.django_db(transaction=True)
def test_migration_backfills_subscriber_ids(monkeypatch):
    # Batches of two ids: a conversion's click lies in another batch than the conversion.
    migration = importlib.import_module("analytics.migrations.0009_event_subscriber_id")
    monkeypatch.setattr(migration, "BATCH", 2)
    executor = MigrationExecutor(connection)
    before = [("analytics", "0008_goal_site_hosts")]
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate(before)
    with connection.cursor() as cursor:
        for uid, kind, key in [
            ("a", "send", "7:s42"),
            ("b", "click", "7:s42"),
            ("c", "conversion", "click:b"),
            ("d", "open", "7:x1"),
            ("e", "pageview", ""),
        ]:
            cursor.execute(
                "INSERT INTO analytics_event (uid, kind, occurred_at, received_at, campaign_id,"
                " channel, publication_id, page_id, link_id, message_key, visitor_hash, is_bot,"
                " bot_reason, is_unique, referrer_class, search_engine, search_query, user_agent)"
                " VALUES (%s, %s, %s, %s, 0, '', 7, 0, 0, %s, '', false, '', false, '', '', '', '')",
                [uid, kind, T0, T0, key],
            )
    executor = MigrationExecutor(connection)
    executor.migrate(latest)
    got = dict(Event.objects.values_list("uid", "subscriber_id"))
    assert got == {"a": 42, "b": 42, "c": 42, "d": 0, "e": 0}
    with connection.cursor() as cursor:
        indexes = connection.introspection.get_constraints(cursor, "analytics_event")
        assert "event_subscriber_idx" in indexes
        if connection.vendor == "postgresql":  # built CONCURRENTLY, and valid
            cursor.execute(
                "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
                " WHERE c.relname = ANY(%s)",
                [["event_subscriber_idx", "people_company_pattern", "people_company_trgm"]],
            )
            assert [valid for (valid,) in cursor.fetchall()] == [True, True, True]
