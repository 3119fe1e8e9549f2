"""OIDC and Google sign-in require `email_verified` to be exactly true (boolean True, or
the string "true" in any case): anything else is refused with a message on the login
page, and no account is created or linked.

The pipeline runs through python-social-auth's own flow: `do_auth` on a real Google and
a real generic OIDC backend, with only the provider's answer (user_data) given; the login
page test goes through the HTTP views, Google's own user-info check included."""

from urllib.parse import parse_qs, urlparse

import pytest
from django.contrib.auth import get_user_model
from django.test import RequestFactory, override_settings
from social_core.backends.google import GoogleOAuth2
from social_core.backends.open_id_connect import OpenIdConnectAuth
from social_django.models import UserSocialAuth
from social_django.utils import load_backend, load_strategy

from content.sso import SignInRefused, claims_email_verified

pytestmark = pytest.mark.django_db

BACKENDS = {"google-oauth2": GoogleOAuth2, "oidc": OpenIdConnectAuth}
REFUSED = [
    pytest.param({}, id="missing"),
    pytest.param({"email_verified": False}, id="False"),
    pytest.param({"email_verified": "False"}, id="'False'"),
    pytest.param({"email_verified": "false"}, id="'false'"),
    pytest.param({"email_verified": "0"}, id="'0'"),
    pytest.param({"email_verified": 0}, id="0"),
    pytest.param({"email_verified": 1}, id="1"),
    pytest.param({"email_verified": None}, id="None"),
    pytest.param({"email_verified": "yes"}, id="'yes'"),
    pytest.param({"email_verified": ["true"]}, id="list"),
]
ACCEPTED = [
    pytest.param({"email_verified": True}, id="True"),
    pytest.param({"email_verified": "true"}, id="'true'"),
    pytest.param({"email_verified": "TRUE"}, id="'TRUE'"),
]


@pytest.fixture
def sso_settings():
    with override_settings(
        SOCIAL_AUTH_GOOGLE_OAUTH2_KEY="gk",
        SOCIAL_AUTH_GOOGLE_OAUTH2_SECRET="gs",
        SOCIAL_AUTH_OIDC_OIDC_ENDPOINT="https://id.example.com",
        SOCIAL_AUTH_OIDC_KEY="ok",
        SOCIAL_AUTH_OIDC_SECRET="os",
    ):
        yield


def run_pipeline(monkeypatch, backend_name: str, claims: dict, id_token=None):
    """Finish a sign-in the way social_core does after the token exchange: do_auth with
    the provider's user data (and, for OIDC, the ID token it validated), through the
    whole configured pipeline."""
    answer = {"sub": "12345", "email": "alice@example.com", "name": "Alice", **claims}

    def user_data(self, *args, **kwargs):
        if id_token is not None:
            self.id_token = id_token
        return dict(answer)

    monkeypatch.setattr(BACKENDS[backend_name], "user_data", user_data)
    request = RequestFactory().get("/sso/complete/")
    request.session = {}
    strategy = load_strategy(request)
    backend = load_backend(strategy, backend_name, redirect_uri="/sso/complete/")
    return backend.do_auth("access-token")


@pytest.mark.parametrize("backend_name", BACKENDS)
@pytest.mark.parametrize("claims", REFUSED)
def test_anything_but_true_is_refused_and_nothing_linked(
    monkeypatch, sso_settings, backend_name, claims
):
    # A colleague's account with that address exists: it must not be linked either.
    colleague = get_user_model().objects.create_user("alice", "alice@example.com", "pw")
    with pytest.raises(SignInRefused) as refused:
        run_pipeline(monkeypatch, backend_name, claims)
    assert str(refused.value) == "Your email address is not verified by your provider."
    assert get_user_model().objects.count() == 1
    assert not UserSocialAuth.objects.exists()
    colleague.refresh_from_db()
    assert not colleague.groups.exists()


@pytest.mark.parametrize("backend_name", BACKENDS)
@pytest.mark.parametrize("claims", ACCEPTED)
def test_a_true_claim_signs_in_on_an_allowed_domain(
    monkeypatch, sso_settings, backend_name, claims
):
    user = run_pipeline(monkeypatch, backend_name, claims)
    assert user.email == "alice@example.com"
    assert UserSocialAuth.objects.get().provider == backend_name
    assert list(user.groups.values_list("name", flat=True)) == ["Marketers"]


def test_the_oidc_claim_may_come_from_the_id_token_alone(monkeypatch, sso_settings):
    """A provider may put `email_verified` in the validated ID token and not in its
    user-info answer: the token's claim counts then (and only a true one)."""
    token = {"sub": "12345", "email_verified": True}
    assert run_pipeline(monkeypatch, "oidc", {}, id_token=token).email == "alice@example.com"
    UserSocialAuth.objects.all().delete()
    get_user_model().objects.all().delete()
    with pytest.raises(SignInRefused):
        run_pipeline(monkeypatch, "oidc", {}, id_token={**token, "email_verified": "False"})
    assert not get_user_model().objects.exists()


def test_claim_values():
    assert claims_email_verified(True) and claims_email_verified(" True ")
    for value in (False, None, "", "False", "0", 0, 1, "1", "yes", {}, []):
        assert not claims_email_verified(value), value


def test_google_refusal_is_shown_on_the_login_page(client, monkeypatch, sso_settings):
    """Through the views: Google's backend itself refuses the missing claim before our
    pipeline step; the person reads our message on the login page, signed out."""
    monkeypatch.setattr(
        GoogleOAuth2, "request_access_token", lambda self, *a, **k: {"access_token": "t"}
    )
    monkeypatch.setattr(
        GoogleOAuth2,
        "get_json",
        lambda self, url, *a, **k: {"sub": "1", "email": "eve@example.com"},
    )
    start = client.post("/sso/login/google-oauth2/")
    assert start.status_code == 302
    state = parse_qs(urlparse(start["Location"]).query)["state"][0]
    done = client.get("/sso/complete/google-oauth2/", {"code": "c", "state": state}, follow=True)
    assert done.request["PATH_INFO"] == "/admin/login/"
    assert "Your email address is not verified by your provider." in done.content.decode()
    assert not get_user_model().objects.filter(email="eve@example.com").exists()
    assert client.get("/admin/").status_code == 302
