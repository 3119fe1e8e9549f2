"""The rights screens over HTTP: who may export (Marketers, Data protection,
superusers), who may erase (Data protection and superusers only, after typing the
address again), who reads the log (Leadership, Data protection, superusers), and the
subscriber's page linking to them."""

import json

import pytest
from django.urls import reverse

from campaigns.audiences.models import Subscriber
from campaigns.people.models import DataRightsRequest
from content.roles import DATA_PROTECTION, LEADERSHIP, MARKETERS
from tests.factories import UserFactory

from .conftest import EMAIL

pytestmark = pytest.mark.django_db


@pytest.fixture
def person(roles):
    return Subscriber.objects.create(
        email=EMAIL, name="Zhao Quillfeather", attributes={"phone": "+86 139 8765 4321"}
    )


def login(client, *groups, **kwargs):
    user = UserFactory(username=f"u-{'-'.join(groups) or 'super'}", groups=list(groups), **kwargs)
    client.force_login(user)
    return user


def urls(person):
    return {
        "json": reverse("people_rights:export_json", args=[person.pk]),
        "csv": reverse("people_rights:export_csv", args=[person.pk]),
        "erase": reverse("people_rights:erase", args=[person.pk]),
        "log": reverse("people_rights:log"),
    }


def test_a_marketer_exports_from_the_subscriber_page_but_may_not_erase(client, person):
    login(client, MARKETERS)
    page = client.get(reverse("subscriber:edit", args=[person.pk])).content.decode()
    found = urls(person)
    assert found["json"] in page and found["csv"] in page
    assert found["erase"] not in page
    response = client.get(found["json"])
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="person-')
    assert json.loads(response.content)["tables"]["subscriber"][0]["email"] == EMAIL
    assert client.get(found["csv"])["Content-Type"] == "application/zip"
    # Wagtail answers a refusal with a redirect to the dashboard and a message.
    assert client.get(found["erase"]).status_code in (302, 403)
    assert client.post(found["erase"], {"address": EMAIL}).status_code in (302, 403)
    assert client.get(found["log"]).status_code in (302, 403)
    assert Subscriber.objects.filter(pk=person.pk).exists()


def test_editors_and_leadership_may_not_export(client, person):
    for group in ("Editors", LEADERSHIP):
        login(client, group)
        assert client.get(urls(person)["json"]).status_code in (302, 403)
    assert not DataRightsRequest.objects.exists()


def test_data_protection_erases_only_after_typing_the_address_again(client, person):
    officer = login(client, DATA_PROTECTION)
    found = urls(person)
    page = client.get(reverse("subscriber:edit", args=[person.pk])).content.decode()
    assert found["erase"] in page
    assert client.get(found["erase"]).status_code == 200
    wrong = client.post(found["erase"], {"address": "someone.else@mail.example.org"})
    assert wrong.status_code == 200 and "not the person" in wrong.content.decode()
    assert Subscriber.objects.filter(pk=person.pk).exists()
    done = client.post(found["erase"], {"address": EMAIL.upper()})
    assert done.status_code == 302 and done["Location"] == reverse("subscriber:index")
    assert not Subscriber.objects.filter(pk=person.pk).exists()
    entry = DataRightsRequest.objects.get()
    assert (entry.action, entry.requested_by) == ("erase", officer)
    log = client.get(found["log"]).content.decode()
    assert "Erasure" in log and EMAIL.lower() not in log.lower()


def test_leadership_reads_the_log_from_the_reports_menu(client, person):
    login(client, LEADERSHIP)
    home = client.get("/admin/").content.decode()
    assert urls(person)["log"] in home
    assert client.get(urls(person)["log"]).status_code == 200
    login(client, "Editors")
    assert urls(person)["log"] not in client.get("/admin/").content.decode()
