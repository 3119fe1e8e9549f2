"""The Content-Security-Policy is enforced (not report-only) on the admin, the hub's
public pages, an email's web version and the subscribe form, and says what it must."""

import pytest

from tests.campaigns.audiences.factories import MailingListFactory
from tests.factories import UserFactory, make_blog, make_email_issue, make_post


def directives(response) -> dict[str, list[str]]:
    assert "Content-Security-Policy-Report-Only" not in response
    header = response["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (part.split() for part in header.split(";") if part.strip())
    }


@pytest.fixture
def admin_client(client, db):
    user = UserFactory(username="csp-admin", is_superuser=True, is_staff=True)
    client.force_login(user)
    return client


def test_an_admin_page_has_the_admin_policy(admin_client):
    response = admin_client.get("/admin/")
    assert response.status_code == 200
    policy = directives(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    # Wagtail's own inline scripts run, but nothing is evaluated from strings.
    assert "'unsafe-inline'" in policy["script-src"]
    assert "'unsafe-eval'" not in policy["script-src"]
    assert not any(v.startswith("'nonce-") for v in policy["script-src"])


def test_the_sign_in_page_has_the_admin_policy(client, db):
    response = client.get("/admin/login/")
    assert "'unsafe-eval'" not in directives(response)["script-src"]


def test_a_public_page_allows_only_our_scripts(client, site, home_page):
    post = make_post(make_blog(home_page))
    response = client.get(post.url)
    assert response.status_code == 200
    policy = directives(response)
    assert "'self'" in policy["script-src"]
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-eval'" not in policy["script-src"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert response["X-Frame-Options"] == "DENY"


def test_an_emails_web_version_has_the_public_policy(client, site, home_page):
    issue = make_email_issue(home_page)
    response = client.get(issue.url)
    assert response.status_code == 200
    policy = directives(response)
    assert "'unsafe-inline'" not in policy["script-src"]
    assert policy["frame-ancestors"] == ["'none'"]


def test_the_subscribe_form_may_be_embedded_anywhere_and_only_it(client, db, settings):
    MailingListFactory(slug="news")
    response = client.get("/subscribe/news/")
    assert response.status_code == 200
    assert "X-Frame-Options" not in response
    policy = directives(response)
    assert policy["frame-ancestors"] == ["*"]
    assert "'unsafe-inline'" not in policy["script-src"]

    settings.CSP_EMBED_FRAME_ANCESTORS = ["https://partner.example.com"]
    response = client.get("/subscribe/news/")
    assert directives(response)["frame-ancestors"] == ["https://partner.example.com"]
