"""The subscriber and mailing-list admin listings at scale (campaigns/audiences/listing.py),
over HTTP as a marketer: the one search box (exact and prefix address, Latin and Chinese
names, short Chinese names by prefix), the list/tag/language filters, counts that are
exact, estimated or capped and say which, no COUNT(*) over the table on PostgreSQL, the
lists' stored member counts, and the permissions as before."""

import re

import pytest
from django.db import connection, transaction
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from campaigns.audiences import listing
from campaigns.audiences.models import MailingList, Subscriber, Subscription
from tests.campaigns.audiences.factories import MailingListFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

on_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's planner and indexes"
)

PEOPLE = [
    ("alice.smith@example.com", "Alice Smith"),
    ("alice2@example.org", "Alice Jones"),
    ("bob.alice@example.net", "Bob Brown"),
    ("wang.fang@example.cn", "Fang Wang"),
    ("wf@example.cn", "Wang Fang"),
    ("li.na@example.cn", "Li Na"),
    ("wangfang@example.cn", "王芳"),
    ("wxm@example.cn", "王小明"),
    ("ouyang@example.cn", "欧阳王小明"),
    ("liwang@example.cn", "李王"),
    ("王芳@例子.中国", "王芳芳"),
]


@pytest.fixture
def marketer_client(client, db):
    client.force_login(UserFactory(username="mia", groups=["Marketers"]))
    return client


@pytest.fixture
def people(db):
    return {
        email: Subscriber.objects.create(email=email, name=name, language="en")
        for email, name in PEOPLE
    }


def found(client, **params) -> list[str]:
    """The addresses the subscriber index lists for these query parameters."""
    response = client.get(reverse("subscriber:index"), params)
    assert response.status_code == 200
    page = response.content.decode()
    emails = {s.email for s in Subscriber.objects.all()}
    cells = re.findall(
        r"<a [^>]*href=\"/admin/subscriber/edit/\d+/\"[^>]*>\s*([^<]+?)\s*</a>", page
    )
    return [c for c in cells if c in emails]


@pytest.mark.parametrize(
    "query, expected",
    [
        # A whole address, in another case: that subscriber (domains and local parts
        # compare case-insensitively, as the app's own look-ups do).
        ("ALICE.Smith@Example.COM", ["alice.smith@example.com"]),
        ("  王芳@例子.中国 ", ["王芳@例子.中国"]),
        # A start of an address: a prefix, not anywhere in it (bob.alice is not found).
        ("alice", ["alice.smith@example.com", "alice2@example.org"]),
        ("alice2@", ["alice2@example.org"]),
        # Latin names contain the words, either order, any case.
        ("WANG", ["wang.fang@example.cn", "wangfang@example.cn", "wf@example.cn"]),
        ("smith", ["alice.smith@example.com"]),
        # Three or more Chinese characters: anywhere in the name.
        ("王小明", ["ouyang@example.cn", "wxm@example.cn"]),
        # One or two: the name starts with them (a surname, a given name), so 王 finds
        # 王芳 and 王小明 but not 李王 or 欧阳王小明.
        ("王", ["wangfang@example.cn", "wxm@example.cn", "王芳@例子.中国"]),
        ("王芳", ["wangfang@example.cn", "王芳@例子.中国"]),
        ("nobody", []),
    ],
)
def test_one_search_box_finds_addresses_and_names(marketer_client, people, query, expected):
    assert sorted(found(marketer_client, q=query)) == sorted(expected)


def test_an_exact_address_is_listed_first(marketer_client, people):
    Subscriber.objects.create(email="alice.smith@example.com.cn", name="Other Alice")
    assert found(marketer_client, q="alice.smith@example.com") == [
        "alice.smith@example.com",
        "alice.smith@example.com.cn",
    ]


def subscribe(subscriber, mailing_list, status=Subscription.Status.SUBSCRIBED):
    return Subscription.objects.create(
        subscriber=subscriber,
        mailing_list=mailing_list,
        status=status,
        consent_at=timezone.now(),
        consent_method=Subscription.Method.ADMIN,
    )


def test_filters_by_list_tag_and_language(marketer_client, people):
    news, offers = MailingListFactory(name="News"), MailingListFactory(name="Offers")
    subscribe(people["alice.smith@example.com"], news)
    subscribe(people["王芳@例子.中国"], news)
    subscribe(people["li.na@example.cn"], news, Subscription.Status.UNSUBSCRIBED)
    subscribe(people["wf@example.cn"], news, Subscription.Status.PENDING)
    subscribe(people["li.na@example.cn"], offers)
    for email, tags in [("alice2@example.org", "vip, beijing"), ("wxm@example.cn", "VIP")]:
        person = people[email]
        person.set_tags(tags)
        person.save()
    Subscriber.objects.filter(Q(email__endswith=".cn") | Q(email__endswith=".中国")).update(
        language="zh-hans"
    )

    # Subscribed members only: not the unsubscribed or the unconfirmed.
    assert sorted(found(marketer_client, mailing_list=news.pk)) == [
        "alice.smith@example.com",
        "王芳@例子.中国",
    ]
    assert found(marketer_client, mailing_list=offers.pk) == ["li.na@example.cn"]
    assert sorted(found(marketer_client, tag=" Vip ")) == ["alice2@example.org", "wxm@example.cn"]
    assert found(marketer_client, tag="beijing") == ["alice2@example.org"]
    assert found(marketer_client, tag="nothing") == []
    assert len(found(marketer_client, language="zh-hans")) == 8
    assert sorted(found(marketer_client, language="en")) == [
        "alice.smith@example.com",
        "alice2@example.org",
        "bob.alice@example.net",
    ]
    # Filters and search combine.
    assert found(marketer_client, tag="vip", q="王") == ["wxm@example.cn"]
    assert found(marketer_client, mailing_list=news.pk, language="en") == [
        "alice.smith@example.com"
    ]


def test_small_counts_are_exact(marketer_client, people):
    page = marketer_client.get(reverse("subscriber:index"), {"q": "alice"}).content.decode()
    assert "There are 2 matches" in page
    assert "data-audience-truncated" not in page
    page = marketer_client.get(reverse("subscriber:index")).content.decode()
    assert "11 subscribers" in page


def test_a_large_result_is_counted_up_to_the_cap(marketer_client, people, monkeypatch):
    monkeypatch.setattr(listing, "COUNT_CAP", 2)
    page = marketer_client.get(reverse("subscriber:index"), {"q": "wang"}).content.decode()
    assert "There are more than 2 matches" in page
    assert "More than 2 subscribers" in page
    # Only the pages the cap reaches are offered, and the page says why.
    assert "data-audience-truncated" in page and "Only the first page is listed" in page
    page = marketer_client.get(reverse("subscriber:index"), {"q": "smith"}).content.decode()
    assert "There is 1 match" in page and "data-audience-truncated" not in page


def test_the_whole_table_is_estimated_on_postgresql(marketer_client, people, monkeypatch):
    monkeypatch.setattr(listing, "COUNT_CAP", 3)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE audiences_subscriber")
        expected = "About 11 subscribers"
    else:  # SQLite counts the table: cheap there, and exact.
        expected = "11 subscribers"
    page = marketer_client.get(reverse("subscriber:index")).content.decode()
    assert expected in page


@on_postgres
def test_no_listing_counts_the_whole_table(marketer_client, people):
    news = MailingListFactory(name="News")
    subscribe(people["alice.smith@example.com"], news)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE audiences_subscriber")
    for params in ({}, {"q": "wang"}, {"q": "a@b"}, {"mailing_list": news.pk}, {"tag": "x"}):
        with CaptureQueriesContext(connection) as queries:
            assert marketer_client.get(reverse("subscriber:index"), params).status_code == 200
        counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
        subscriber_counts = [sql for sql in counts if "audiences_subscriber" in sql]
        assert all("LIMIT" in sql for sql in subscriber_counts), (params, subscriber_counts)
        if params:  # matches read up to the cap, not counted
            assert any("LIMIT 1001" in q["sql"] for q in queries), params
    with CaptureQueriesContext(connection) as queries:
        marketer_client.get(reverse("mailinglist:index"))
    for query in queries:
        if "COUNT(" in query["sql"].upper() and "audiences_subscription" in query["sql"]:
            assert "LIMIT" in query["sql"]


@on_postgres
@pytest.mark.parametrize(
    "lookup, index",
    [
        ({"email__iexact": "Alice2@Example.org"}, "audiences_subscriber_email_pattern"),
        ({"email__istartswith": "alice"}, "audiences_subscriber_email_pattern"),
        ({"name__icontains": "王小明"}, "audiences_subscriber_name_trgm"),
        ({"name__icontains": "wang"}, "audiences_subscriber_name_trgm"),
        ({"name__istartswith": "王"}, "audiences_subscriber_name_pattern"),
    ],
)
def test_searches_use_their_indexes(people, lookup, index):
    queryset = Subscriber.objects.filter(**lookup).order_by().values("name")
    sql, params = queryset.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        # A table of a dozen rows is read whole whatever the indexes: leave the planner
        # only bitmap scans to see which index answers the lookup's expression.
        for kind in ("seqscan", "indexscan", "indexonlyscan"):
            cursor.execute(f"SET LOCAL enable_{kind} = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert index in plan, plan


def test_list_index_shows_stored_counts_with_their_time(marketer_client, people, monkeypatch):
    news, quiet = MailingListFactory(name="News"), MailingListFactory(name="Quiet")
    for email in list(people)[:4] + ["wxm@example.cn"]:
        subscribe(people[email], news)
    subscribe(people["li.na@example.cn"], news, Subscription.Status.UNSUBSCRIBED)
    subscribe(people["wf@example.cn"], news, Subscription.Status.PENDING)

    # Never counted: a live count, capped.
    monkeypatch.setattr(listing, "COUNT_CAP", 3)
    page = marketer_client.get(reverse("mailinglist:index")).content.decode()
    assert "More than 3 (counting soon)" in page

    assert listing.refresh_list_counts() == 2
    news.refresh_from_db()
    assert news.subscriber_count == 5 and news.subscriber_count_at is not None
    # The stored count, whatever the cap, and when it was taken.
    page = marketer_client.get(reverse("mailinglist:index")).content.decode()
    assert "5 (counted 0\xa0minutes ago)" in page
    assert "0 (counted 0\xa0minutes ago)" in page
    MailingList.objects.filter(pk=quiet.pk).update(
        subscriber_count=1234567, subscriber_count_at=timezone.now() - timezone.timedelta(hours=2)
    )
    page = marketer_client.get(reverse("mailinglist:index")).content.decode()
    assert "1,234,567 (counted 2\xa0hours ago)" in page


def test_the_refresh_task_counts_the_lists(people, celery_eager):
    from campaigns.audiences.tasks import refresh_list_counts

    news = MailingListFactory(name="News")
    subscribe(people["wf@example.cn"], news)
    refresh_list_counts.delay()
    news.refresh_from_db()
    assert news.subscriber_count == 1


def test_permissions_are_unchanged(client, people):
    client.force_login(UserFactory(username="lee", groups=["Leadership"]))
    for url in (reverse("subscriber:index"), reverse("mailinglist:index")):
        assert client.get(url).status_code in (302, 403)
        assert client.get(url, {"q": "alice"}).status_code in (302, 403)


def test_subscriber_page_shows_the_first_lists_only(marketer_client, people):
    wang = people["wxm@example.cn"]
    wang.set_tags("vip, beijing")
    wang.save()
    lists = MailingList.objects.bulk_create(
        [MailingList(name=f"List {i:02}", slug=f"list-{i:02}") for i in range(25)]
    )
    for mailing_list in lists:
        subscribe(wang, mailing_list)
    with CaptureQueriesContext(connection) as queries:
        response = marketer_client.get(reverse("subscriber:edit", args=[wang.pk]))
    page = response.content.decode()
    section = page.split("data-subscriber-lists")[1]
    assert "List 00" in section and "List 19" in section and "List 20" not in section
    assert "and 5 more lists" in section
    assert "beijing, vip" in section
    # Every read of the subscriptions is bounded.
    reads = [q["sql"] for q in queries if "audiences_subscription" in q["sql"]]
    assert reads and all("LIMIT" in sql for sql in reads), reads
    # A subscriber on no list says so.
    page = marketer_client.get(reverse("subscriber:edit", args=[people["li.na@example.cn"].pk]))
    assert "Not on any list." in page.content.decode()


@pytest.mark.parametrize("cap", [1000, 2])
def test_matches_keep_the_chosen_order(marketer_client, people, monkeypatch, cap):
    # Few matches are sorted from their ids and keys; many are read in index order,
    # the first COUNT_CAP of them offered.
    monkeypatch.setattr(listing, "COUNT_CAP", cap)
    wang = ["wang.fang@example.cn", "wangfang@example.cn", "wf@example.cn"]
    created = sorted(wang, key=lambda e: people[e].pk)
    for ordering, expected in [
        ("email", wang),
        ("-email", wang[::-1]),
        ("pk", created),
        ("-pk", created[::-1]),
    ]:
        assert found(marketer_client, q="wang", ordering=ordering) == expected[:cap]


def test_matches_too_slow_to_read_are_paged_uncounted(marketer_client, people, monkeypatch):
    monkeypatch.setattr(listing, "_read_capped", lambda queryset, *args: None)
    page = marketer_client.get(reverse("subscriber:index"), {"q": "wang"}).content.decode()
    assert "There are too many matches to count quickly" in page
    assert "Too many subscribers to count quickly" in page
    assert "data-audience-truncated" in page
    assert found(marketer_client, q="wang") == [
        "wang.fang@example.cn",
        "wangfang@example.cn",
        "wf@example.cn",
    ]


@on_postgres
def test_a_slow_read_is_cut_short_and_the_timeout_restored(people, monkeypatch):
    from django.db.models.expressions import RawSQL

    monkeypatch.setattr(listing, "READ_TIMEOUT_MS", 20)
    slow = Subscriber.objects.annotate(nap=RawSQL("pg_sleep(0.05)", [])).values_list("pk", "nap")
    assert listing._read_capped(slow) is None
    assert len(listing._read_capped(Subscriber.objects.values_list("pk"))) == len(PEOPLE)
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "0"


def test_list_index_counts_never_counted_lists_in_one_query(marketer_client, people):
    """A page of lists never counted costs the same queries with 2 lists as with 8."""
    emails = list(people)

    def queries_with(n_lists):
        for i in range(n_lists - MailingList.objects.count()):
            ml = MailingListFactory(name=f"List {i}")
            subscribe(people[emails[i % len(emails)]], ml)
        marketer_client.get(reverse("mailinglist:index"))  # the session's first-time reads
        with CaptureQueriesContext(connection) as ctx:
            page = marketer_client.get(reverse("mailinglist:index")).content.decode()
        assert page.count("(counted 0\xa0minutes ago)") == n_lists
        return len(ctx)

    assert queries_with(2) == queries_with(8)


def test_subscriber_rows_link_to_the_subscriber_without_a_menu_each(marketer_client, people):
    page = marketer_client.get(reverse("subscriber:index")).content.decode()
    person = people["wxm@example.cn"]
    assert reverse("subscriber:edit", args=[person.pk]) in page
    assert "More options for" not in page
    edit = marketer_client.get(reverse("subscriber:edit", args=[person.pk])).content.decode()
    assert reverse("subscriber:delete", args=[person.pk]) in edit


def test_many_matches_too_slow_to_page_in_order_are_listed_as_found(
    marketer_client, people, monkeypatch
):
    """A filter with more matches than the cap whose matches lie far along the listing's
    order (a list's members after millions of imported addresses that sort first): the
    page's read in that order gives up, and the pages list the matches read while
    counting, sorted, and say so."""
    monkeypatch.setattr(listing, "COUNT_CAP", 2)
    news = MailingListFactory(name="News")
    members = ["wf@example.cn", "wxm@example.cn", "王芳@例子.中国"]
    for email in members:
        subscribe(people[email], news)
    read_capped = listing._read_capped

    def page_reads_too_slow(queryset, *args):
        # The page's read is the one of whole rows (the counts read ids and keys).
        if not queryset.query.values_select:
            return None
        return read_capped(queryset, *args)

    monkeypatch.setattr(listing, "_read_capped", page_reads_too_slow)
    response = marketer_client.get(reverse("subscriber:index"), {"mailing_list": news.pk})
    page = response.content.decode()
    assert "There are more than 2 matches" in page
    assert "data-audience-as-found" in page and "the first 2 found, sorted" in page
    listed = found(marketer_client, mailing_list=news.pk)
    assert len(listed) == 2 and set(listed) <= set(members)
    assert listed == sorted(listed)  # code point order, as the database's collation
    assert found(marketer_client, mailing_list=news.pk, ordering="-email") == sorted(
        found(marketer_client, mailing_list=news.pk, ordering="-email"), reverse=True
    )

    # When the ordered read is quick, the pages are the first matches in that order.
    monkeypatch.setattr(listing, "_read_capped", read_capped)
    page = marketer_client.get(reverse("subscriber:index"), {"mailing_list": news.pk})
    assert "data-audience-as-found" not in page.content.decode()
    assert found(marketer_client, mailing_list=news.pk) == sorted(members)[:2]


@on_postgres
def test_a_common_name_is_counted_from_its_prefix_matches(marketer_client, people, monkeypatch):
    """A search whose email or name prefix matches (one btree each) pass the cap says
    "more than" without reading the trigram index; one whose prefix matches do not is
    counted in full."""
    # Two addresses start with "wang": past a cap of 1 on their own.
    monkeypatch.setattr(listing, "COUNT_CAP", 1)
    with CaptureQueriesContext(connection) as queries:
        page = marketer_client.get(reverse("subscriber:index"), {"q": "wang"}).content.decode()
    assert "There are more than 1 matches" in page
    capped_reads = [q["sql"] for q in queries if "LIMIT 2" in q["sql"]]
    assert capped_reads and not any("%WANG%" in sql.upper() for sql in capped_reads)
    # Its page still lists the whole search's first match in order.
    assert found(marketer_client, q="wang") == ["wang.fang@example.cn"]
    assert found(marketer_client, q="wang", ordering="-email") == ["wf@example.cn"]

    # "王小明": no name starts with it but two contain it.
    monkeypatch.setattr(listing, "COUNT_CAP", 1000)
    page = marketer_client.get(reverse("subscriber:index"), {"q": "王小明"}).content.decode()
    assert "There are 2 matches" in page
    assert sorted(found(marketer_client, q="王小明")) == ["ouyang@example.cn", "wxm@example.cn"]
