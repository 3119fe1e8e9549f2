"""Importing search queries per page through an analytics connection, against loopback
servers that speak Google Search Console's and Baidu Tongji's documented APIs: rows
mapped to hub pages, re-imports idempotent, and every bad answer stored as a clear error
with nothing already imported lost."""

import datetime
import json
import uuid

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.db import connection as db
from django.test import override_settings

from analytics.models import ImportedSearchQuery, SearchConnection
from analytics.search.client import SearchImportError
from analytics.search.importing import import_all_active, import_connection, try_connection
from tests.channels.loopback import LoopbackServer, Reply
from tests.factories import make_blog, make_post

from .search_fakes import FakeSearchConsole, FakeTongji

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 20)
DAY1, DAY2 = "2026-11-18", "2026-11-19"


@pytest.fixture(autouse=True)
def private_default_cache(settings):
    """Wagtail caches the sites' root paths (which URL path is which page) in the default
    cache, the Redis shared under CI: another test database's paths must not answer."""
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"search-import-{uuid.uuid4().hex}",
        },
    }


@pytest.fixture
def gsc():
    with LoopbackServer(FakeSearchConsole()) as server:
        yield server


@pytest.fixture
def tongji():
    with LoopbackServer(FakeTongji()) as server:
        yield server


@pytest.fixture
def post(home_page):
    return make_post(make_blog(home_page), title="Spring sale guide", slug="spring-sale")


def google_connection(server, **extra):
    fields = {
        "name": "Search Console",
        "kind": "google",
        "site": "https://hub.example/",
        "api_url": server.url,
        "token_url": f"{server.url}/token",
        "is_internal": True,
        "backfill_days": 3,
        "secrets": {"client_id": "c", "client_secret": "s", "refresh_token": "r-1"},
    }
    return SearchConnection.objects.create(**{**fields, **extra})


def baidu_connection(server, **secrets):
    return SearchConnection.objects.create(
        name="Tongji",
        kind="baidu",
        site="16800000",
        api_url=server.url,
        token_url=f"{server.url}/oauth/2.0/token",
        is_internal=True,
        backfill_days=2,
        secrets={"access_token": "121.a", **secrets},
    )


def gsc_row(url, query, day, clicks, impressions, position):
    return {
        "keys": [url, query, day],
        "clicks": clicks,
        "impressions": impressions,
        "ctr": clicks / impressions,
        "position": position,
    }


def test_google_queries_are_imported_per_page_and_day(gsc, post):
    page_url = "https://hub.example" + post.get_url_parts()[2]
    gsc.rows += [
        gsc_row(page_url, "spring sale", DAY1, 7, 120, 3.4),
        gsc_row(page_url, "spring sale", DAY2, 5, 90, 4.0),
        gsc_row(page_url, "sale guide", DAY2, 1, 40, 8.25),
        gsc_row("https://hub.example/not-ours/", "other", DAY2, 2, 10, 1.0),
    ]
    connection = google_connection(gsc)
    assert import_connection(connection, today=TODAY) == 4
    request = gsc.service.queries[0]
    assert request["dimensions"] == ["page", "query", "date"]
    assert (request["startDate"], request["endDate"]) == ("2026-11-17", DAY2)
    stored = {
        (r.page_id, r.query, r.day.isoformat()): (r.clicks, r.impressions, r.position)
        for r in ImportedSearchQuery.objects.all()
    }
    assert stored[(post.pk, "spring sale", DAY1)] == (7, 120, 3.4)
    assert stored[(post.pk, "sale guide", DAY2)] == (1, 40, 8.25)
    assert stored[(0, "other", DAY2)] == (2, 10, 1.0)  # no live hub page at that path
    connection.refresh_from_db()
    assert connection.last_error == "" and connection.last_rows == 4
    assert connection.last_success_at is not None

    # Again, and with a day's figures completed since: replaced, never added twice.
    gsc.rows[1]["clicks"] = 6
    assert import_connection(connection, today=TODAY) == 4
    assert ImportedSearchQuery.objects.count() == 4
    assert ImportedSearchQuery.objects.get(query="spring sale", day=DAY2).clicks == 6


def test_google_pages_of_rows_are_followed(gsc, post, monkeypatch):
    from analytics.search import google

    monkeypatch.setattr(google, "ROW_LIMIT", 2)
    url = "https://hub.example" + post.get_url_parts()[2]
    gsc.rows += [gsc_row(url, f"q{i}", DAY2, 10 - i, 50, 2.0) for i in range(5)]
    assert import_connection(google_connection(gsc), today=TODAY) == 5
    assert [q["startRow"] for q in gsc.service.queries] == [0, 2, 4]


def test_google_service_account_signs_its_token_request(gsc, post):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    gsc.service.public_key = key.public_key()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    key_file = {
        "type": "service_account",
        "client_email": "importer@p.iam.gserviceaccount.com",
        "private_key": pem,
        "private_key_id": "k1",
    }
    gsc.rows.append(gsc_row("https://hub.example/x/", "q", DAY2, 1, 2, 1.0))
    connection = google_connection(gsc, secrets={"service_account_key": json.dumps(key_file)})
    assert import_connection(connection, today=TODAY) == 1
    # A key that is not Google's: a clear error, no request made with it.
    connection.secrets = {"service_account_key": "{not json"}
    connection.save()
    with pytest.raises(SearchImportError, match="service account key"):
        import_connection(connection, today=TODAY)


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        (Reply(500, {"error": {"code": 500, "message": "Backend Error"}}), "500"),
        (Reply(503, "upstream connect error"), "503"),
        (
            Reply(
                429,
                {
                    "error": {
                        "code": 429,
                        "message": "Quota exceeded",
                        "status": "RESOURCE_EXHAUSTED",
                    }
                },
            ),
            "quota",
        ),
        (Reply(200, "<html>captive portal</html>", {"Content-Type": "text/html"}), "not JSON"),
        (Reply(200, [1, 2, 3]), "unexpected shape"),
        (Reply(200, {"rows": [{"keys": ["only-one-key"]}]}), "cannot read"),
    ],
)
def test_google_bad_answers_are_stored_and_lose_nothing(gsc, post, fault, words):
    gsc.rows.append(gsc_row("https://hub.example/x/", "kept", DAY2, 3, 30, 2.0))
    connection = google_connection(gsc)
    import_connection(connection, today=TODAY)
    gsc.rows[0]["clicks"] = 99
    gsc.service.faults += [Reply(200, {"access_token": "ya29.t1"}), fault]  # token, then the query
    gsc.service.tokens.add("ya29.t1")
    with pytest.raises(SearchImportError):
        import_connection(connection, today=TODAY)
    connection.refresh_from_db()
    assert words.casefold() in connection.last_error.casefold()
    assert connection.last_success_at is not None
    assert list(ImportedSearchQuery.objects.values_list("query", "clicks")) == [("kept", 3)]


def test_google_refusals_say_why(gsc, post):
    connection = google_connection(gsc, secrets={"refresh_token": "revoked"})
    ok, message = try_connection(connection)
    assert not ok and "400" in message and "invalid_grant" in message
    connection.secrets = {"refresh_token": "r-1"}
    connection.site = "https://someone-else.example/"
    connection.save()
    ok, message = try_connection(connection)
    assert not ok and "403" in message and "permission" in message
    connection.site = "https://hub.example/"
    connection.save()
    ok, message = try_connection(connection)
    assert ok, message


@override_settings(OUTBOUND_HTTP_TIMEOUT=0.3)
def test_a_timeout_is_an_error_not_a_hang(gsc, post):
    connection = google_connection(gsc)
    gsc.service.delay = 1.0
    with pytest.raises(SearchImportError, match="did not answer in time"):
        import_connection(connection, today=TODAY)
    gsc.service.delay = 0


def test_loopback_is_refused_unless_the_connection_is_internal(gsc, post):
    connection = google_connection(gsc, is_internal=False)
    with pytest.raises(SearchImportError, match="not a public address"):
        import_connection(connection, today=TODAY)
    assert gsc.requests == []


def test_baidu_search_words_are_imported_per_day_for_the_site(tongji):
    tongji.service.words = {
        "20261118": [("春季促销", 30, 12), ("促销攻略", 8, 4)],
        "20261119": [("春季促销", 20, 9)],
    }
    connection = baidu_connection(tongji)
    assert import_connection(connection, today=TODAY) == 3
    rows = ImportedSearchQuery.objects.order_by("day", "-clicks")
    assert [(r.engine, r.page_id, r.query, r.clicks, r.impressions) for r in rows] == [
        ("baidu", 0, "春季促销", 12, None),
        ("baidu", 0, "促销攻略", 4, None),
        ("baidu", 0, "春季促销", 9, None),
    ]
    # A word gone from a day since: the day is replaced as a whole.
    tongji.service.words["20261118"] = [("春季促销", 31, 13)]
    assert import_connection(connection, today=TODAY) == 2
    assert ImportedSearchQuery.objects.count() == 2


def test_baidu_renews_an_expired_token_once_and_keeps_the_new_refresh_token(tongji):
    tongji.service.access_tokens = {"121.other"}  # ours has expired
    tongji.service.words = {"20261119": [("春季促销", 20, 9)]}
    connection = baidu_connection(
        tongji, refresh_token="122.r", client_id="api-key", client_secret="secret-key"
    )
    assert import_connection(connection, today=TODAY) == 1
    connection.refresh_from_db()
    assert connection.secrets["access_token"] == "121.n1"
    assert connection.secrets["refresh_token"] == "122.n1"  # Baidu rotated it
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT secrets FROM analytics_searchconnection WHERE id = %s", [connection.pk]
        )
        raw = cursor.fetchone()[0]
    assert "122.n1" not in raw and "api-key" not in raw  # encrypted at rest
    # Without the means to renew it: said so.
    tongji.service.access_tokens = {"121.other"}
    connection.secrets = {"access_token": "121.n1"}
    connection.save()
    with pytest.raises(SearchImportError, match="access token"):
        import_connection(connection, today=TODAY)


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        (
            Reply(200, {"error_code": 18, "error_msg": "Open api qps request limit reached"}),
            "quota",
        ),
        (Reply(200, {"error_code": 100, "error_msg": "Invalid parameter"}), "Invalid parameter"),
        (Reply(200, {"result": {"items": [[[{"name": "x"}]], []], "fields": []}}), "cannot read"),
        (Reply(502, "Bad Gateway"), "502"),
        (Reply(200, "{truncated", {"Content-Type": "application/json"}), "not JSON"),
    ],
)
def test_baidu_bad_answers_are_stored_and_lose_nothing(tongji, fault, words):
    tongji.service.words = {"20261119": [("春季促销", 20, 9)]}
    connection = baidu_connection(tongji)
    import_connection(connection, today=TODAY)
    tongji.service.faults.append(fault)
    with pytest.raises(SearchImportError):
        import_connection(connection, today=TODAY)
    connection.refresh_from_db()
    assert words.casefold() in connection.last_error.casefold()
    assert list(ImportedSearchQuery.objects.values_list("query", "clicks")) == [("春季促销", 9)]


def test_one_failing_connection_does_not_stop_the_others(gsc, tongji, post):
    tongji.service.words = {"20261119": [("春季促销", 20, 9)]}
    broken = google_connection(gsc, secrets={})
    working = baidu_connection(tongji)
    SearchConnection.objects.create(name="off", kind="baidu", site="1", is_active=False)
    outcome = import_all_active(today=TODAY)
    assert outcome[working.pk] == 1
    assert "refresh token or a service account key" in outcome[broken.pk]
    assert len(outcome) == 2


def test_the_import_runs_on_the_beat_schedule(settings):
    from analytics import tasks

    entry = settings.CELERY_BEAT_SCHEDULE["analytics-import-search-queries"]
    assert entry["task"] == tasks.import_search_queries.name
