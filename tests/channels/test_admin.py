"""Channel account admin: per-kind fields, write-only secrets, "Test connection",
and connecting Reddit without signing anyone in."""

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import override_settings
from social_django.models import UserSocialAuth

from channels.models import ChannelAccount
from tests.factories import ChannelAccountFactory

from .fakes import FakeDiscourse, FakeReddit

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, marketer):
    client.force_login(marketer)
    return client


def test_create_wordpress_account_with_its_own_fields(staff):
    page = staff.get("/admin/channels/add/?kind=blog/wordpress")
    body = page.content.decode()
    assert page.status_code == 200
    assert 'name="setting__base_url"' in body and 'name="secret__application_password"' in body
    response = staff.post(
        "/admin/channels/add/?kind=blog/wordpress",
        {
            "kind": "blog/wordpress",
            "name": "Partner blog",
            "is_active": "on",
            "rate_limit_per_minute": 10,
            "setting__base_url": "https://blog.example.com",
            "setting__username": "editor",
            "secret__application_password": "s3cret-pw",
        },
    )
    assert response.status_code == 302
    account = ChannelAccount.objects.get(name="Partner blog")
    assert account.settings["base_url"] == "https://blog.example.com"
    assert account.secrets == {"application_password": "s3cret-pw"}


def test_secret_is_never_shown_back_and_empty_keeps_it(staff):
    account = ChannelAccountFactory(
        kind="blog/wordpress",
        settings={"base_url": "https://blog.example.com", "username": "editor"},
        secrets={"application_password": "s3cret-pw"},
    )
    page = staff.get(f"/admin/channels/{account.pk}/")
    assert page.status_code == 200
    assert "s3cret-pw" not in page.content.decode()
    assert "A value is stored" in page.content.decode()
    staff.post(
        f"/admin/channels/{account.pk}/",
        {
            "name": account.name,
            "rate_limit_per_minute": 30,
            "setting__base_url": "https://blog.example.com",
            "setting__username": "editor2",
            "secret__application_password": "",
        },
    )
    account.refresh_from_db()
    assert account.settings["username"] == "editor2"
    assert account.secrets["application_password"] == "s3cret-pw"
    # A form error re-renders the page: still nothing secret in it.
    page = staff.post(
        f"/admin/channels/{account.pk}/",
        {"name": "", "rate_limit_per_minute": 30, "secret__application_password": "new-pw-typed"},
    )
    assert page.status_code == 200
    assert "new-pw-typed" not in page.content.decode() and "s3cret-pw" not in page.content.decode()


def test_required_secret_missing_on_create_is_an_error(staff):
    response = staff.post(
        "/admin/channels/add/?kind=forum/discourse",
        {
            "kind": "forum/discourse",
            "name": "Forum",
            "rate_limit_per_minute": 5,
            "setting__base_url": "https://forum.example.com",
            "setting__api_username": "system",
        },
    )
    assert response.status_code == 200
    assert "This secret is required." in response.content.decode()
    assert not ChannelAccount.objects.filter(name="Forum").exists()


def test_test_connection_reports_success_and_failure(staff, loopback):
    server = loopback(FakeDiscourse())
    account = ChannelAccountFactory(
        kind="forum/discourse",
        is_internal=True,
        settings={"base_url": server.url, "api_username": "system", "category": "Announcements"},
        secrets={"api_key": "k-123"},
    )
    response = staff.post(f"/admin/channels/{account.pk}/test/", follow=True)
    assert "Connection works" in response.content.decode()

    account.secrets = {"api_key": "wrong"}
    account.save()
    response = staff.post(f"/admin/channels/{account.pk}/test/", follow=True)
    assert "Connection failed" in response.content.decode() and "403" in response.content.decode()

    account.is_internal = False
    account.save()
    response = staff.post(f"/admin/channels/{account.pk}/test/", follow=True)
    assert "not a public address" in response.content.decode()


def test_test_connection_reports_unreachable(staff):
    account = ChannelAccountFactory(
        kind="forum/discourse",
        is_internal=True,
        settings={"base_url": "http://127.0.0.1:9", "api_username": "system"},
        secrets={"api_key": "k"},
    )
    response = staff.post(f"/admin/channels/{account.pk}/test/", follow=True)
    assert "cannot reach" in response.content.decode()
    assert "temporary" in response.content.decode()


def test_accounts_need_permission(client):
    from django.contrib.auth.models import Permission

    from tests.factories import UserFactory

    user = UserFactory(username="nobody")
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(user)
    assert client.get("/admin/channels/").status_code in (302, 403)
    assert client.get("/admin/channels/add/?kind=blog/wordpress").status_code in (302, 403)


REDDIT_SETTINGS = dict(
    SOCIAL_AUTH_REDDIT_CHANNEL_KEY="cid",
    SOCIAL_AUTH_REDDIT_CHANNEL_SECRET="csecret",
)


def test_connect_reddit_stores_tokens_and_signs_nobody_in(staff, marketer, loopback):
    server = loopback(FakeReddit())
    account = ChannelAccountFactory(
        kind="forum/reddit",
        is_internal=True,
        settings={"api_base": server.url, "subreddit": "smallbusiness"},
    )
    users_before = get_user_model().objects.count()
    with override_settings(
        **REDDIT_SETTINGS,
        SOCIAL_AUTH_REDDIT_CHANNEL_ACCESS_TOKEN_URL=server.url + "/api/v1/access_token",
    ):
        start = staff.post(f"/admin/channels/{account.pk}/reddit/connect/")
        assert start.status_code == 302
        authorize = urlsplit(start["Location"])
        assert authorize.netloc == "ssl.reddit.com" and authorize.path == "/api/v1/authorize"
        query = {k: v[0] for k, v in parse_qs(authorize.query).items()}
        assert query["client_id"] == "cid"
        assert query["scope"] == "submit,identity,history,read,flair"
        assert query["duration"] == "permanent"
        assert query["response_type"] == "code"
        # BASE_URL's callback, as registered with Reddit, whatever Host the request had.
        assert query["redirect_uri"] == f"{settings.BASE_URL}/admin/channels/reddit/callback/"

        done = staff.get(
            "/admin/channels/reddit/callback/", {"state": query["state"], "code": "good-code"}
        )
    assert done.status_code == 302 and done["Location"] == f"/admin/channels/{account.pk}/"
    exchange = server.calls("POST", "/api/v1/access_token")[0]
    assert exchange.form()["grant_type"] == "authorization_code"
    assert exchange.form()["code"] == "good-code"
    assert exchange.headers["authorization"] == server.service.basic
    account.refresh_from_db()
    assert account.secrets["refresh_token"] == "rt-code"
    assert account.secrets["access_token"] == "at-code"
    assert account.secrets["expires_at"] > time.time() + 3000
    assert account.settings["username"] == "acme_marketing"
    # Nobody signed in as anyone new; no user and no social login were created.
    assert get_user_model().objects.count() == users_before
    assert UserSocialAuth.objects.count() == 0
    assert int(staff.session["_auth_user_id"]) == marketer.pk


def test_reddit_callback_with_a_forged_state_stores_nothing(staff, loopback):
    server = loopback(FakeReddit())
    account = ChannelAccountFactory(
        kind="forum/reddit", is_internal=True, settings={"api_base": server.url}
    )
    with override_settings(
        **REDDIT_SETTINGS,
        SOCIAL_AUTH_REDDIT_CHANNEL_ACCESS_TOKEN_URL=server.url + "/api/v1/access_token",
    ):
        staff.post(f"/admin/channels/{account.pk}/reddit/connect/")
        response = staff.get(
            "/admin/channels/reddit/callback/",
            {"state": "forged", "code": "good-code"},
            follow=True,
        )
    assert "Reddit did not connect" in response.content.decode()
    assert server.requests == []
    account.refresh_from_db()
    assert "refresh_token" not in account.secrets


def test_reddit_denied_by_the_user(staff, loopback):
    server = loopback(FakeReddit())
    account = ChannelAccountFactory(
        kind="forum/reddit", is_internal=True, settings={"api_base": server.url}
    )
    with override_settings(**REDDIT_SETTINGS):
        start = staff.post(f"/admin/channels/{account.pk}/reddit/connect/")
        state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
        response = staff.get(
            "/admin/channels/reddit/callback/",
            {"state": state, "error": "access_denied"},
            follow=True,
        )
    assert "Reddit did not connect" in response.content.decode()
    account.refresh_from_db()
    assert "access_token" not in account.secrets


def test_channel_backend_is_not_a_sign_in_provider(client):
    from django.conf import settings

    assert not any("reddit" in b.lower() for b in settings.AUTHENTICATION_BACKENDS)
    # social-auth-app-django 8 starts a sign-in only on POST (a GET is a 405 before the
    # backend is even looked up), so ask the way the login page does: an unknown
    # backend is a 404, both to start a sign-in and to complete one.
    assert client.post("/sso/login/reddit-channel/").status_code == 404
    assert client.get("/sso/complete/reddit-channel/", {"code": "x"}).status_code == 404
    # Sanity check that the 404 means "no such provider", not "no such URL".
    assert client.get("/sso/login/reddit-channel/").status_code == 405
