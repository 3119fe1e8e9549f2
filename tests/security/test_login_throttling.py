"""Login throttling (django-axes): ten wrong passwords for one username from one address
lock that pair out, and the eleventh attempt is refused even with the right password,
with the lockout said on the sign-in page in the reader's language."""

import datetime

import pytest
import time_machine
from django.utils import timezone, translation
from django.utils.html import escape

from content.signin import lockout_message
from tests.factories import UserFactory

RIGHT = "pw-123456"  # UserFactory's password


@pytest.fixture
def staff(db):
    return UserFactory(username="throttled", is_superuser=True, is_staff=True)


def sign_in(client, password, username="throttled", address="192.0.2.10"):
    return client.post(
        "/admin/login/",
        {"username": username, "password": password},
        REMOTE_ADDR=address,
        HTTP_ACCEPT_LANGUAGE="en",
    )


def test_the_eleventh_attempt_is_locked_out_even_with_the_right_password(client, staff):
    for _ in range(9):
        wrong = sign_in(client, "wrong")
        assert wrong.status_code == 200  # the form again, "wrong password"
        assert b"Too many failed sign-in attempts" not in wrong.content
    # The tenth failure is told that the account is now locked...
    assert sign_in(client, "wrong").status_code == 429
    # ...and the eleventh attempt is refused, though its password is right.
    refused = sign_in(client, RIGHT)
    assert refused.status_code == 429
    page = refused.content.decode()
    assert "Too many failed sign-in attempts" in page
    assert "locked for 15 minutes" in page
    assert 'name="password"' in page  # the sign-in page, not a bare error
    assert "_auth_user_id" not in client.session

    # Another address, or another username from this one, is not locked.
    UserFactory(username="colleague")
    assert sign_in(client, RIGHT, address="192.0.2.99").status_code == 302
    client.logout()
    assert sign_in(client, RIGHT, username="colleague").status_code == 302


def test_the_lockout_is_said_in_chinese(client, staff):
    for _ in range(10):
        sign_in(client, "wrong")
    refused = client.post(
        "/admin/login/",
        {"username": "throttled", "password": RIGHT},
        REMOTE_ADDR="192.0.2.10",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert refused.status_code == 429
    page = refused.content.decode()
    assert 'name="password"' in page
    with translation.override("zh-hans"):
        sentence = lockout_message(15)
    assert "15" in sentence and "Too many" not in sentence  # the catalogue has it
    assert escape(sentence) in page
    assert '<html lang="zh-hans"' in page


def test_the_lock_lifts_after_the_cool_off(client, staff):
    for _ in range(10):
        sign_in(client, "wrong")
    assert sign_in(client, RIGHT).status_code == 429
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=16)):
        assert sign_in(client, RIGHT).status_code == 302


def test_a_successful_sign_in_before_the_limit_resets_the_count(client, staff):
    for _ in range(9):
        sign_in(client, "wrong")
    assert sign_in(client, RIGHT).status_code == 302
    client.logout()
    for _ in range(9):
        assert sign_in(client, "wrong").status_code == 200
    assert sign_in(client, RIGHT).status_code == 302


def test_force_login_is_not_throttled(client, staff):
    for _ in range(10):
        sign_in(client, "wrong")
    client.force_login(staff)
    assert client.get("/admin/").status_code == 200
