"""The admin side of landing pages over HTTP (submissions listed and exported as a CSV
Excel reads, with formulas disarmed, only for those who may edit the page; the embed
codes on the page's edit screen) and the embedded form (framable by other sites, the
hub page itself not)."""

import csv
import io

import pytest
from django.test import Client
from django.urls import reverse

from campaigns.leads.models import LeadSubmission
from tests.factories import UserFactory

from .conftest import VALID

pytestmark = pytest.mark.django_db
URL = "/spring-demo/"


@pytest.fixture
def editor(db):
    return UserFactory(username="eddie", groups=["Editors"])


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def answered(landing):
    Client(REMOTE_ADDR="198.51.100.1").post(URL, VALID)
    Client(REMOTE_ADDR="198.51.100.2").post(
        URL,
        {
            **VALID,
            "email": "eve@example.org",
            "full_name": '=HYPERLINK("http://evil.example/","click")',
            "company": "@SUM(1+1)",
            "message": "-2+3",
            "job_title": "+cmd|' /C calc'!A0",
            "_subscribe": "on",
        },
    )
    assert LeadSubmission.objects.count() == 2
    return landing


def test_an_editor_lists_the_submissions_with_their_subscriber(answered, editor):
    url = reverse("wagtailforms:list_submissions", args=[answered.pk])
    response = signed_in(editor).get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Acme 有限公司" in html
    assert "eve@example.org" in html
    assert "Asked to join the list" in html
    # The forms index lists the landing page for the editor.
    index = signed_in(editor).get(reverse("wagtailforms:index"))
    assert "Spring demo" in index.content.decode()


def test_the_csv_has_a_bom_every_answer_and_no_formula(answered, editor, settings):
    url = reverse("wagtailforms:list_submissions", args=[answered.pk]) + "?export=csv"
    response = signed_in(editor).get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith(f'attachment; filename="form-{answered.pk}-')
    body = b"".join(response.streaming_content)
    assert body.startswith("\ufeff".encode())  # Wagtail's own export writes none
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert [r["Email"] for r in rows] == ["王芳@例子.中国", "eve@example.org"]
    first, second = rows
    assert first["Company"] == "Acme 有限公司"
    assert first["Interests"] == "Email, Blog"
    assert first["Subscriber"] == "王芳@例子.中国"
    assert second["Full name"] == '\'=HYPERLINK("http://evil.example/","click")'
    assert second["Company"] == "'@SUM(1+1)"
    assert second["Message"] == "'-2+3"
    assert second["Job title"] == "'+cmd|' /C calc'!A0"
    assert second["Asked to join the list"] == "Yes"
    for row in rows:
        for value in row.values():
            assert value[:1] not in ("=", "+", "-", "@"), value


@pytest.mark.parametrize("group", ["Leadership", "Marketers"])
def test_who_may_not_edit_the_page_sees_no_submissions(answered, group):
    user = UserFactory(username=f"u-{group}", groups=[group])
    client = signed_in(user)
    url = reverse("wagtailforms:list_submissions", args=[answered.pk])
    for target in (url, url + "?export=csv"):
        response = client.get(target)
        assert response.status_code in (302, 403), target
        assert b"eve@example.org" not in response.content


def test_anonymous_visitors_are_sent_to_sign_in(answered):
    url = reverse("wagtailforms:list_submissions", args=[answered.pk]) + "?export=csv"
    response = Client().get(url)
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_the_edit_screen_shows_the_embed_codes(landing, editor, settings):
    settings.SITE_BASE_URL = "https://hub.example.com"
    response = signed_in(editor).get(reverse("wagtailadmin_pages:edit", args=[landing.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    embed = f"https://hub.example.com/forms/{landing.pk}/embed/"
    assert f"&lt;iframe src=&quot;{embed}&quot;" in html
    assert f"https://hub.example.com/forms/{landing.pk}/embed.js" in html


def test_the_embedded_form_is_framable_and_the_hub_page_is_not(landing, settings):
    settings.CSP_EMBED_FRAME_ANCESTORS = ["*"]
    embedded = Client().get(f"/forms/{landing.pk}/embed/")
    assert embedded.status_code == 200
    assert "X-Frame-Options" not in embedded
    assert "frame-ancestors *" in embedded["Content-Security-Policy"]
    html = embedded.content.decode()
    assert 'name="email"' in html and "site-header" not in html

    hub = Client().get(URL)
    assert hub["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in hub["Content-Security-Policy"]
    # Other public pages stay unframable too.
    assert Client().get("/")["X-Frame-Options"] == "DENY"


def test_the_embedded_form_takes_answers_without_a_csrf_cookie(landing):
    client = Client(enforce_csrf_checks=True, REMOTE_ADDR="198.51.100.3")
    response = client.post(f"/forms/{landing.pk}/embed/", VALID)
    assert response.status_code == 200
    assert "Thank you. We received your answers." in response.content.decode()
    assert "X-Frame-Options" not in response
    submission = LeadSubmission.objects.get()
    assert submission.embedded
    # The hub page itself keeps Django's CSRF check.
    assert client.post(URL, VALID).status_code == 403


def test_the_embed_script_writes_the_iframe(landing, settings):
    settings.SITE_BASE_URL = "https://hub.example.com"
    response = Client().get(f"/forms/{landing.pk}/embed.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    js = response.content.decode()
    assert f'"https://hub.example.com/forms/{landing.pk}/embed/"' in js
    assert "createElement('iframe')" in js


def test_drafts_private_and_other_pages_are_not_embeddable(home_page, landing):
    from wagtail.models import PageViewRestriction

    assert Client().get(f"/forms/{home_page.pk}/embed/").status_code == 404
    assert Client().get(f"/forms/{home_page.pk}/embed.js").status_code == 404
    assert Client().get("/forms/999999/embed/").status_code == 404
    PageViewRestriction.objects.create(
        page=landing, restriction_type=PageViewRestriction.PASSWORD, password="x"
    )
    assert Client().get(f"/forms/{landing.pk}/embed/").status_code == 404
    landing.unpublish()
    assert Client().get(f"/forms/{landing.pk}/embed/").status_code == 404


def test_a_private_landing_page_asks_for_its_password_before_the_form(landing):
    from wagtail.models import PageViewRestriction

    PageViewRestriction.objects.create(
        page=landing, restriction_type=PageViewRestriction.PASSWORD, password="x"
    )
    response = Client().post(URL, VALID)
    assert not LeadSubmission.objects.exists()
    assert 'name="email"' not in response.content.decode()
