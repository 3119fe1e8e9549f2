"""The analytics connection screen (Settings > Analytics connections): marketers set a
connection up with credentials that are written, never shown back, and encrypted at
rest; Test connection and Import now answer in words; a failed import's error shows on
the screen; people without the permission are refused."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection as db

from analytics.models import ImportedSearchQuery, SearchConnection
from content.roles import LEADERSHIP, MARKETERS, sync_role_permissions
from tests.channels.loopback import LoopbackServer, Reply
from tests.factories import UserFactory

from .search_fakes import FakeTongji

pytestmark = pytest.mark.django_db

BASE = "/admin/analytics/connections/"


@pytest.fixture
def roles(db):
    for name in (LEADERSHIP, MARKETERS, "Editors"):
        Group.objects.get_or_create(name=name)
    sync_role_permissions()


@pytest.fixture
def marketer(client, roles):
    user = UserFactory(username="marketer", groups=[MARKETERS])
    client.force_login(user)
    return user


@pytest.fixture
def tongji():
    with LoopbackServer(FakeTongji()) as server:
        yield server


def form(server, **changes):
    data = {
        "name": "Baidu Tongji",
        "kind": "baidu",
        "site": "16800000",
        "is_active": "on",
        "backfill_days": "2",
        "api_url": server.url,
        "token_url": f"{server.url}/oauth/2.0/token",
        "is_internal": "on",
        "secret__access_token": "121.a",
        "secret__client_id": "api-key",
        "secret__client_secret": "secret-key",
        "secret__refresh_token": "122.r",
    }
    data.update(changes)
    return data


def test_reachable_from_the_settings_menu(client, marketer):
    home = client.get("/admin/").content.decode()
    assert BASE in home  # the Settings menu's item
    assert client.get(BASE).status_code == 200


def test_marketer_sets_up_a_connection_with_write_only_secrets(client, marketer, tongji):
    response = client.post(BASE + "new/", form(tongji))
    assert response.status_code == 302, response.content.decode()[-2000:]
    connection = SearchConnection.objects.get()
    assert connection.secrets["client_secret"] == "secret-key"
    with db.cursor() as cursor:
        cursor.execute("SELECT secrets FROM analytics_searchconnection")
        assert "secret-key" not in cursor.fetchone()[0]
    edit = client.get(f"{BASE}edit/{connection.pk}/").content.decode()
    assert "secret-key" not in edit and "121.a" not in edit and "122.r" not in edit
    assert "Stored: leave empty to keep it." in edit
    # Saving again with the secrets left empty keeps them.
    blank = {k: ("" if k.startswith("secret__") else v) for k, v in form(tongji).items()}
    client.post(f"{BASE}edit/{connection.pk}/", {**blank, "name": "Tongji (site)"})
    connection.refresh_from_db()
    assert connection.name == "Tongji (site)" and connection.secrets["refresh_token"] == "122.r"


def test_bad_settings_are_refused_in_words(client, marketer, tongji):
    response = client.post(
        BASE + "new/",
        form(tongji, backfill_days="0", kind="google", secret__service_account_key="{no"),
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Between 1 and 90 days." in html
    assert "Paste the whole JSON key file" in html
    assert not SearchConnection.objects.exists()


def test_test_connection_and_import_now(client, marketer, tongji):
    tongji.service.words = {}
    client.post(BASE + "new/", form(tongji))
    connection = SearchConnection.objects.get()
    edit_url = f"{BASE}edit/{connection.pk}/"
    page = client.get(edit_url).content.decode()
    assert "Test connection" in page and "Import now" in page and "Nothing imported yet." in page

    answer = client.post(f"{BASE}test/{connection.pk}/", follow=True).content.decode()
    assert "Baidu Tongji answered for site 16800000" in answer

    answer = client.post(f"{BASE}import/{connection.pk}/", follow=True).content.decode()
    assert "Imported 0 rows of search queries." in answer

    tongji.service.faults.append(Reply(200, {"error_code": 17, "error_msg": "daily limit"}))
    answer = client.post(f"{BASE}import/{connection.pk}/", follow=True).content.decode()
    assert "Import failed" in answer and "quota is used up" in answer
    page = client.get(edit_url).content.decode()
    assert "The last import failed:" in page and "daily limit" in page
    assert "What was imported before is kept." in page
    assert ImportedSearchQuery.objects.count() == 0


def test_people_without_the_permission_are_refused(client, roles, tongji):
    connection = SearchConnection.objects.create(name="x", kind="baidu", site="1")
    client.force_login(UserFactory(username="lead", groups=[LEADERSHIP]))
    # Leadership reads the list (names, last import, errors; never a secret) and changes
    # nothing.
    assert client.get(BASE).status_code == 200
    assert client.get(BASE + "new/").status_code in (302, 403)
    assert client.post(f"{BASE}edit/{connection.pk}/", {"name": "y"}).status_code in (302, 403)
    assert client.post(f"{BASE}test/{connection.pk}/").status_code in (302, 403)
    assert client.post(f"{BASE}import/{connection.pk}/").status_code in (302, 403)
    assert tongji.requests == []
    client.force_login(UserFactory(username="editor", groups=["Editors"]))
    assert client.get(BASE).status_code in (302, 403)
    connection.refresh_from_db()
    assert connection.name == "x"
