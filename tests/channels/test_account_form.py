"""The channel account form, built from each adapter's declared settings and secrets:
typed inputs, write-only secrets, clear per-field errors, older keys kept, and "Test
connection" on what the form saved. Through the admin over HTTP, as a marketer."""

import re
import socket

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink

from campaigns.audiences.models import MailingList
from channels.models import ChannelAccount
from tests.factories import ChannelAccountFactory

pytestmark = pytest.mark.django_db

ADD_SMTP = "/admin/channels/add/?kind=email/smtp"


@pytest.fixture
def staff(client, marketer):
    client.force_login(marketer)
    return client


@pytest.fixture
def smtp_port():
    """A real SMTP server on loopback that accepts anything."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def smtp_post(**overrides):
    data = {
        "kind": "email/smtp",
        "name": "Newsletter",
        "is_active": "on",
        "rate_limit_per_minute": 30,
        "setting__host": "smtp.example.com",
        "setting__port": "465",
        "setting__security": "ssl",
        "setting__username": "news",
        "setting__from_name": "Acme 新闻",
        "setting__from_email": "news@example.com",
        "setting__postal_address": "1 Example Street\nSpringfield",
        "setting__default_list": "",
        "setting__rate_limit_per_second": "2.5",
        "setting__batch_size": "100",
        "setting__concurrency": "2",
        "setting__timeout": "30",
        "secret__password": "smtp-pw-1",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def field_errors(html: str, name: str) -> str:
    """The error text Wagtail's field layout shows for the input named `name`."""
    for wrapper in html.split('class="w-field__wrapper')[1:]:
        if f'name="{name}"' in wrapper:
            errors = re.search(r'<div class="w-field__errors"[^>]*>(.*?)</div>', wrapper, re.S)
            return re.sub(r"<[^>]+>|\s+", " ", errors.group(1)).strip()
    raise AssertionError(f"no field {name} on the page")


def test_the_add_form_has_a_typed_input_per_declared_key_and_no_json(staff):
    MailingList.objects.create(slug="news", name="News")
    html = staff.get(ADD_SMTP).content.decode()
    assert 'type="number" name="setting__port"' in html and 'value="25"' in html
    assert re.search(r'<select name="setting__security"', html)
    assert '<option value="starttls" selected>' in html
    assert '<option value="news">News</option>' in html  # the lists, as a select
    assert re.search(r'<input type="text" name="setting__from_email"[^>]*inputmode="email"', html)
    assert '<textarea name="setting__postal_address"' in html
    assert 'type="password" name="secret__password"' in html
    assert '<textarea name="secret__dkim_private_key"' in html
    assert "JSON" not in html and "null" not in html and 'value="None"' not in html
    # Wagtail's own field layout, not Django's as_p.
    assert 'class="w-field__wrapper' in html and "<p><label" not in html


def test_create_an_smtp_account_from_typed_fields(staff):
    MailingList.objects.create(slug="news", name="News")
    response = staff.post(ADD_SMTP, smtp_post(setting__default_list="news"))
    assert response.status_code == 302
    account = ChannelAccount.objects.get(name="Newsletter")
    assert account.kind == "email/smtp"
    assert account.settings == {
        "host": "smtp.example.com",
        "port": 465,
        "security": "ssl",
        "username": "news",
        "from_name": "Acme 新闻",
        "from_email": "news@example.com",
        "postal_address": "1 Example Street\nSpringfield",
        "default_list": "news",
        "rate_limit_per_second": 2.5,
        "batch_size": 100,
        "concurrency": 2,
        "timeout": 30.0,
    }
    assert account.secrets == {"password": "smtp-pw-1"}


def test_secrets_are_never_echoed_and_an_empty_one_keeps_the_stored_value(staff):
    account = ChannelAccountFactory(
        kind="email/smtp",
        name="Newsletter",
        settings={
            "host": "smtp.example.com",
            "from_email": "news@example.com",
            "postal_address": "1 Example Street",
            "legacy_flag": "kept",  # a key no declaration names
        },
        secrets={"password": "stored-pw", "dkim_private_key": "-----BEGIN PEM-----"},
    )
    page = staff.get(f"/admin/channels/{account.pk}/").content.decode()
    assert "stored-pw" not in page and "BEGIN PEM" not in page
    assert page.count("Leave empty to keep the current value") == 2
    assert "null" not in page and 'value="None"' not in page

    response = staff.post(
        f"/admin/channels/{account.pk}/",
        smtp_post(**{"setting__username": "", "secret__password": "", "setting__timeout": ""}),
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.secrets == {"password": "stored-pw", "dkim_private_key": "-----BEGIN PEM-----"}
    assert account.settings["legacy_flag"] == "kept"
    # An optional field emptied is removed, so the adapter's default applies again.
    assert "username" not in account.settings and "timeout" not in account.settings
    assert account.settings["port"] == 465

    # A new value replaces the stored one; "remove" clears one.
    staff.post(
        f"/admin/channels/{account.pk}/",
        smtp_post(**{"secret__password": "new-pw", "clear__dkim_private_key": "on"}),
    )
    account.refresh_from_db()
    assert account.secrets == {"password": "new-pw"}

    # A form that comes back with errors shows nothing typed into a secret either.
    page = staff.post(
        f"/admin/channels/{account.pk}/",
        smtp_post(**{"setting__host": "", "secret__password": "typed-pw"}),
    ).content.decode()
    assert "typed-pw" not in page and "new-pw" not in page


def test_a_required_key_left_out_is_an_error_on_that_field(staff):
    response = staff.post(ADD_SMTP, smtp_post(setting__host=None))
    assert response.status_code == 200
    html = response.content.decode()
    assert field_errors(html, "setting__host") == "This field is required."
    assert field_errors(html, "setting__from_email") == ""
    assert "could not be saved" in html
    assert not ChannelAccount.objects.filter(name="Newsletter").exists()


@pytest.mark.parametrize(
    ("port", "message"),
    [
        ("smtp", "Enter a whole number."),
        ("70000", "Ensure this value is less than or equal to 65535."),
        ("0", "Ensure this value is greater than or equal to 1."),
    ],
)
def test_a_bad_port_is_an_error_on_the_port_field(staff, port, message):
    response = staff.post(ADD_SMTP, smtp_post(setting__port=port))
    assert response.status_code == 200
    assert field_errors(response.content.decode(), "setting__port") == message
    assert not ChannelAccount.objects.exists()


def test_a_bad_choice_or_address_is_refused_on_its_field(staff):
    response = staff.post(
        ADD_SMTP,
        smtp_post(
            **{
                "setting__security": "tls-please",
                "setting__from_email": "not an address",
                "setting__default_list": "no-such-list",
            }
        ),
    )
    html = response.content.decode()
    assert "Select a valid choice" in field_errors(html, "setting__security")
    assert field_errors(html, "setting__from_email") == "Enter a valid email address."
    assert "Select a valid choice" in field_errors(html, "setting__default_list")


@pytest.mark.parametrize(
    ("address", "valid"),
    [
        ("新闻@例子.中国", True),
        ("王芳@example.com", True),
        ("news@例子.测试", True),
        ("王 芳@example.com", False),
        ("王芳@", False),
        ("王芳@example", False),
    ],
)
def test_an_internationalised_from_address_is_accepted(staff, address, valid):
    response = staff.post(ADD_SMTP, smtp_post(setting__from_email=address))
    if valid:
        assert response.status_code == 302
        assert ChannelAccount.objects.get().settings["from_email"] == address
    else:
        html = response.content.decode()
        assert field_errors(html, "setting__from_email") == "Enter a valid email address."


def test_a_required_secret_is_needed_on_create_only(staff):
    data = {
        "kind": "forum/discourse",
        "name": "Forum",
        "rate_limit_per_minute": 5,
        "setting__base_url": "https://forum.example.com",
        "setting__api_username": "system",
    }
    html = staff.post("/admin/channels/add/?kind=forum/discourse", data).content.decode()
    assert field_errors(html, "secret__api_key") == "This secret is required."
    response = staff.post(
        "/admin/channels/add/?kind=forum/discourse", {**data, "secret__api_key": "k-1"}
    )
    assert response.status_code == 302
    account = ChannelAccount.objects.get(name="Forum")
    assert staff.post(f"/admin/channels/{account.pk}/", data).status_code == 302
    account.refresh_from_db()
    assert account.secrets == {"api_key": "k-1"}


def test_save_and_test_connection_from_the_edit_screen(staff, smtp_port):
    account = ChannelAccountFactory(kind="email/smtp", name="Newsletter", is_internal=True)
    edit = staff.get(f"/admin/channels/{account.pk}/").content.decode()
    assert 'name="test"' in edit and f"/admin/channels/{account.pk}/test/" in edit
    data = smtp_post(
        **{
            "is_internal": "on",  # the test server is on loopback
            "setting__host": "127.0.0.1",
            "setting__port": str(smtp_port),
            "setting__security": "none",
            "setting__username": "",
            "test": "1",
        }
    )
    response = staff.post(f"/admin/channels/{account.pk}/", data, follow=True)
    assert "Connection works" in response.content.decode()
    # The adapter's own check still runs on what the form saved.
    response = staff.post(
        f"/admin/channels/{account.pk}/",
        {**data, "setting__port": "9"},  # nothing listens there
        follow=True,
    )
    assert "Connection failed" in response.content.decode()
    assert "temporary" in response.content.decode()
