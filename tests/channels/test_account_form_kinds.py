"""Every channel kind declares its settings and secrets, and the declaration is enough:
an account built through the admin form alone (plus, for Reddit, its "Connect" step)
passes the adapter's own check, and that check reads no key the form does not know."""

import socket

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink

from channels import services
from channels.base import FieldType
from channels.models import ChannelAccount
from channels.registry import ADAPTERS, get_adapter_class

from .fakes import FakeDiscourse, FakeMetaWeblog, FakeReddit, FakeWordPress

pytestmark = pytest.mark.django_db

# Values a person would type for each declared type, when a kind gives none below.
TYPED = {
    FieldType.TEXT: "value",
    FieldType.TEXTAREA: "Some text\non two lines",
    FieldType.URL: "https://example.com",
    FieldType.EMAIL: "someone@example.com",
    FieldType.PASSWORD: "secret-value",
    FieldType.SECRET_TEXT: "-----BEGIN KEY-----\nabc\n-----END KEY-----",
}


@pytest.fixture
def staff(client, marketer):
    client.force_login(marketer)
    return client


@pytest.fixture
def smtp_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@pytest.fixture
def typed_values(loopback, smtp_port, home_page):
    """kind -> what the marketer types for that kind's required keys and credentials,
    pointing at a loopback service that speaks the channel's API."""
    wordpress = loopback(FakeWordPress())
    metaweblog = loopback(FakeMetaWeblog())
    discourse = loopback(FakeDiscourse())
    smtp = {
        "host": "127.0.0.1",
        "port": str(smtp_port),
        "security": "none",
        "from_email": "news@example.com",
        "postal_address": "1 Example Street",
    }
    return {
        "blog/wagtail_site": {},
        "blog/wordpress": {
            "base_url": wordpress.url,
            "username": "editor",
            "application_password": "abcd efgh ijkl mnop",
        },
        "blog/metaweblog": {
            "endpoint": metaweblog.url,
            "blog_id": "42",
            "username": "writer",
            "password": "token-1",
        },
        "forum/discourse": {
            "base_url": discourse.url,
            "api_username": "system",
            "api_key": "k-123",
        },
        "forum/reddit": {
            "subreddit": "smallbusiness",
            "client_id": "cid",
            "client_secret": "csecret",
        },
        "email/smtp": smtp,
        "ezine/email": smtp,
        "manual/placement": {"site_name": "Zhihu"},
    }


def form_data(kind: str, values: dict) -> dict:
    """The POST the form makes when the marketer fills the required fields (and any
    given in `values`) and leaves every other field as the form offers it."""
    cls = get_adapter_class(kind)
    data = {"kind": kind, "name": f"Account {kind}", "rate_limit_per_minute": 30}
    data["is_internal"] = "on"  # the loopback services live on 127.0.0.1
    for prefix, declared_fields in (
        ("setting__", cls.account_settings),
        ("secret__", cls.account_secrets),
    ):
        for declared in declared_fields:
            if declared.name in values:
                data[prefix + declared.name] = values[declared.name]
            elif declared.default is not None:
                data[prefix + declared.name] = declared.default
            elif declared.required:
                choices = declared.get_choices()
                data[prefix + declared.name] = choices[0][0] if choices else TYPED[declared.type]
    return data


class Recording(dict):
    """A dict that notes every key read from it."""

    def __init__(self, data, seen: set):
        super().__init__(data)
        self.seen = seen

    def get(self, key, default=None):
        self.seen.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.seen.add(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self.seen.add(key)
        return super().__contains__(key)


def test_every_registered_kind_declares_its_settings_and_secrets():
    for kind in ADAPTERS:
        cls = get_adapter_class(kind)
        names = [d.name for d in (*cls.account_settings, *cls.account_secrets)]
        assert len(names) == len(set(names)), kind
        assert all(d.is_secret for d in cls.account_secrets), kind
        assert not any(d.is_secret for d in cls.account_settings), kind
        assert all(str(d.label) for d in (*cls.account_settings, *cls.account_secrets)), kind
        # An adapter that talks to a remote service needs something to reach it with.
        if kind not in ("blog/wagtail_site", "manual/placement"):
            assert cls.account_settings, kind


@pytest.mark.parametrize("kind", list(ADAPTERS))
def test_an_account_built_by_the_form_passes_its_adapters_check(
    staff, typed_values, loopback, kind
):
    add = f"/admin/channels/add/?kind={kind}"
    page = staff.get(add)
    assert page.status_code == 200
    html = page.content.decode()
    assert "JSON" not in html and "null" not in html and 'value="None"' not in html
    cls = get_adapter_class(kind)
    for declared in cls.account_settings:
        assert f'name="setting__{declared.name}"' in html, declared.name
    for declared in cls.account_secrets:
        assert f'name="secret__{declared.name}"' in html, declared.name

    response = staff.post(add, form_data(kind, typed_values[kind]))
    assert response.status_code == 302, response.content.decode()[:3000]
    account = ChannelAccount.objects.get(kind=kind)

    if kind == "forum/reddit":
        # What "Connect Reddit" does after Reddit's consent screen.
        reddit = loopback(FakeReddit())
        account.settings = {
            **account.settings,
            "api_base": reddit.url,
            "token_url": reddit.url + "/api/v1/access_token",
        }
        account.save()
        account = services.connect_reddit_account(
            account.pk,
            {"access_token": "at-0", "refresh_token": "rt-1", "expires_at": 9e9},
        )

    seen: set[str] = set()
    account.settings = Recording(account.settings, seen)
    account.secrets = Recording(account.secrets, seen)
    ok, message = services.test_channel_account(account)
    assert ok, message

    declared = {d.name for d in (*cls.account_settings, *cls.account_secrets)}
    assert seen - declared - cls.managed_keys == set()
