"""The staff SSO pipeline, end to end: social_django's login and complete views talk to a
loopback server that speaks GitHub Enterprise's OAuth and REST API."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.test import override_settings

from content.sso import enabled_providers


class FakeGitHub(BaseHTTPRequestHandler):
    profile: dict = {}
    emails: list = []
    requests: list = []

    def log_message(self, *args):
        pass

    def _json(self, payload, status=200):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode())
        type(self).requests.append(("POST", self.path, form))
        if self.path.startswith("/login/oauth/access_token") and form.get("code") == ["good-code"]:
            self._json({"access_token": "tok-123", "token_type": "bearer", "scope": "user:email"})
        else:
            self._json({"error": "bad_verification_code"}, status=400)

    def do_GET(self):
        type(self).requests.append(("GET", self.path, dict(self.headers)))
        if self.headers.get("Authorization") != "token tok-123":
            return self._json({"message": "Bad credentials"}, status=401)
        if self.path == "/api/v3/user":
            return self._json(type(self).profile)
        if self.path == "/api/v3/user/emails":
            return self._json(type(self).emails)
        return self._json({"message": "Not Found"}, status=404)


@pytest.fixture
def github():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeGitHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeGitHub.requests = []
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    with override_settings(
        AUTHENTICATION_BACKENDS=[
            "social_core.backends.github_enterprise.GithubEnterpriseOAuth2",
            "django.contrib.auth.backends.ModelBackend",
        ],
        SOCIAL_AUTH_GITHUB_ENTERPRISE_URL=base,
        SOCIAL_AUTH_GITHUB_ENTERPRISE_API_URL=base + "api/v3/",
        SOCIAL_AUTH_GITHUB_ENTERPRISE_KEY="client-id",
        SOCIAL_AUTH_GITHUB_ENTERPRISE_SECRET="client-secret",
        SOCIAL_AUTH_GITHUB_ENTERPRISE_SCOPE=["user:email"],
    ):
        yield FakeGitHub
    server.shutdown()


def sign_in(client, github, email, verified=True, login="alice"):
    github.profile = {"id": 4242, "login": login, "name": "Alice Example", "email": None}
    github.emails = [{"email": email, "primary": True, "verified": verified}]
    start = client.post("/sso/login/github-enterprise/")
    assert start.status_code == 302
    authorize = urlparse(start["Location"])
    assert authorize.path == "/login/oauth/authorize"
    state = parse_qs(authorize.query)["state"][0]
    return client.get("/sso/complete/github-enterprise/", {"code": "good-code", "state": state})


@pytest.mark.django_db
def test_allowed_domain_creates_user_in_mapped_group(client, github):
    response = sign_in(client, github, "alice@example.com")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/")
    user = get_user_model().objects.get(email="alice@example.com")
    assert list(user.groups.values_list("name", flat=True)) == ["Marketers"]
    assert user.has_perm("wagtailadmin.access_admin")
    # The session is signed in: the admin dashboard opens.
    assert client.get("/admin/").status_code == 200
    # The token exchange really went to the provider with our client credentials.
    token_post = next(r for r in github.requests if r[0] == "POST")
    assert token_post[2]["client_id"] == ["client-id"]


@pytest.mark.django_db
def test_second_domain_maps_to_its_own_group(client, github):
    sign_in(client, github, "ed@press.example.org", login="ed")
    user = get_user_model().objects.get(email="ed@press.example.org")
    assert list(user.groups.values_list("name", flat=True)) == ["Editors"]


@pytest.mark.django_db
def test_other_domain_is_refused_and_no_user_is_created(client, github):
    response = sign_in(client, github, "mallory@evil.test", login="mallory")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert not get_user_model().objects.filter(email="mallory@evil.test").exists()
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("mallory@evil.test is not allowed" in m for m in messages), messages
    assert client.get("/admin/").status_code == 302  # still signed out


@pytest.mark.django_db
def test_unverified_address_on_allowed_domain_is_refused(client, github):
    response = sign_in(client, github, "eve@example.com", verified=False, login="eve")
    assert response["Location"].startswith("/admin/login/")
    assert not get_user_model().objects.filter(email="eve@example.com").exists()


@pytest.mark.django_db
def test_login_page_offers_only_configured_providers(client):
    with override_settings(
        SOCIAL_AUTH_GITHUB_KEY="",
        SOCIAL_AUTH_GOOGLE_OAUTH2_KEY="gk",
        SOCIAL_AUTH_OIDC_OIDC_ENDPOINT="",
    ):
        assert [p["backend"] for p in enabled_providers()] == ["google-oauth2"]
        page = client.get("/admin/login/")
    assert b"/sso/login/google-oauth2/" in page.content
    assert b"/sso/login/github/" not in page.content
