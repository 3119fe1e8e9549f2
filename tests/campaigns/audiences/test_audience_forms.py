"""The audience admin forms: Wagtail's own field layout, attributes as "name = value"
lines (never a raw `null`), internationalised addresses accepted and garbage refused."""

import pytest
from django.urls import reverse

from campaigns.audiences.models import Subscriber, Suppression
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketer_client(client, db):
    client.force_login(UserFactory(username="mia", groups=["Marketers"]))
    return client


@pytest.mark.parametrize(
    "url", ["subscriber:add", "segment:add", "mailinglist:add", "suppression:add"]
)
def test_forms_use_wagtails_field_layout(marketer_client, url):
    page = marketer_client.get(reverse(url)).content.decode()
    assert "w-field" in page and "<p><label" not in page


def test_subscriber_attributes_are_lines_not_json(marketer_client):
    page = marketer_client.get(reverse("subscriber:add")).content.decode()
    textarea = page.split('name="attributes"')[1].split("</textarea>")[0]
    assert "null" not in textarea and "{" not in textarea
    response = marketer_client.post(
        reverse("subscriber:add"),
        {
            "email": "王芳@例子.中国",
            "name": "王芳",
            "language": "zh-hans",
            "timezone": "Asia/Shanghai",
            "attributes": "city = Shanghai\n\nplan = gold = plus",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    wang = Subscriber.objects.get()
    assert wang.email == "王芳@例子.中国"
    assert wang.attributes == {"city": "Shanghai", "plan": "gold = plus"}
    edit = marketer_client.get(reverse("subscriber:edit", args=[wang.pk])).content.decode()
    assert "city = Shanghai" in edit


@pytest.mark.parametrize(
    "email, attributes, error",
    [
        ("also bad@example", "", "not a valid email address"),
        ("😀@example.com", "", "not a valid email address"),
        ("ok@example.org", "no equals sign", "Line 1"),
        ("ok@example.org", "a__b = 1", "Line 1"),
    ],
)
def test_bad_subscriber_input_is_refused_clearly(marketer_client, email, attributes, error):
    response = marketer_client.post(
        reverse("subscriber:add"),
        {"email": email, "name": "", "language": "en", "timezone": "UTC", "attributes": attributes},
    )
    assert response.status_code == 200 and error in response.content.decode()
    assert not Subscriber.objects.exists()


def test_an_internationalised_address_can_be_suppressed(marketer_client):
    response = marketer_client.post(
        reverse("suppression:add"),
        {"email": "王芳@example.com", "reason": "manual", "detail": "asked by phone"},
    )
    assert response.status_code == 302
    assert Suppression.objects.get().email == "王芳@example.com"
