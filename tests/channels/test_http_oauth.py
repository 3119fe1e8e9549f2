"""Connecting Reddit: the OAuth code exchange goes through channels.http like every
other outbound request (SSRF guard with the account's "internal network" flag, size cap,
deadline), not through social_core's own unguarded `requests` call."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import override_settings

from tests.factories import ChannelAccountFactory

from .fakes import FakeReddit
from .loopback import Reply

pytestmark = pytest.mark.django_db

REDDIT = dict(SOCIAL_AUTH_REDDIT_CHANNEL_KEY="cid", SOCIAL_AUTH_REDDIT_CHANNEL_SECRET="csecret")


def connect(client, account, token_url):
    with override_settings(**REDDIT, SOCIAL_AUTH_REDDIT_CHANNEL_ACCESS_TOKEN_URL=token_url):
        start = client.post(f"/admin/channels/{account.pk}/reddit/connect/")
        state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
        return client.get(
            "/admin/channels/reddit/callback/", {"state": state, "code": "good-code"}, follow=True
        )


@pytest.fixture
def staff(client, marketer):
    client.force_login(marketer)
    return client


def test_the_code_exchange_is_refused_a_loopback_token_url_for_a_non_internal_account(
    staff, loopback
):
    server = loopback(FakeReddit())
    account = ChannelAccountFactory(kind="forum/reddit", settings={"api_base": server.url})
    page = connect(staff, account, server.url + "/api/v1/access_token").content.decode()
    assert "Reddit did not connect" in page and "not a public address" in page
    assert server.requests == []
    account.refresh_from_db()
    assert "refresh_token" not in account.secrets


def test_an_oversized_token_answer_is_refused(staff, loopback, settings):
    settings.OUTBOUND_HTTP_MAX_BYTES = 64 * 1024
    server = loopback(FakeReddit())
    server.faults.append(Reply(200, {"access_token": "x" * 100_000}))
    account = ChannelAccountFactory(
        kind="forum/reddit", is_internal=True, settings={"api_base": server.url}
    )
    page = connect(staff, account, server.url + "/api/v1/access_token").content.decode()
    assert "Reddit did not connect" in page and "larger than 65536 bytes" in page
    account.refresh_from_db()
    assert "access_token" not in account.secrets
