"""Secrets at rest: encrypted in the database and in dumps, rotatable, never shown."""

import io
import json

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from channels.crypto import SecretDecryptionError
from channels.models import ChannelAccount
from channels.services import rotate_secrets
from tests.factories import ChannelAccountFactory

pytestmark = pytest.mark.django_db

SECRET = "wp-app-pw-Zx81-very-secret"
TOKEN = "reddit-refresh-токен-秘密"
OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def raw_secrets(pk) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT secrets FROM channels_channelaccount WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def make_account(**secrets):
    return ChannelAccountFactory(
        kind="blog/wordpress", secrets=secrets or {"application_password": SECRET, "refresh": TOKEN}
    )


def test_raw_column_is_ciphertext():
    account = make_account()
    raw = raw_secrets(account.pk)
    assert SECRET not in raw and "application_password" not in raw
    assert ChannelAccount.objects.get(pk=account.pk).secrets["refresh"] == TOKEN


def test_dumpdata_and_sql_dump_show_no_secret():
    make_account()
    out = io.StringIO()
    call_command("dumpdata", "channels", stdout=out)
    dump = out.getvalue()
    assert "channels.channelaccount" in dump
    assert SECRET not in dump and TOKEN not in dump
    assert TOKEN.encode("unicode_escape").decode() not in dump  # not even JSON-escaped
    # A plain SQL dump of every text column of the table.
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM channels_channelaccount")
        rows = json.dumps(cursor.fetchall(), default=str, ensure_ascii=False)
    assert SECRET not in rows and TOKEN not in rows


def test_rotation_reencrypts_with_the_new_key_and_old_key_can_be_dropped():
    with override_settings(FIELD_ENCRYPTION_KEYS=[OLD_KEY]):
        account = make_account()
        before = raw_secrets(account.pk)
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        out = io.StringIO()
        call_command("rotate_secrets", stdout=out)
        assert "1 account" in out.getvalue()
        after = raw_secrets(account.pk)
        assert after != before
        Fernet(NEW_KEY.encode()).decrypt(after.encode())  # the newest key opens it
        with pytest.raises(Exception):  # noqa: B017 - InvalidToken
            Fernet(OLD_KEY.encode()).decrypt(after.encode())
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY]):
        assert ChannelAccount.objects.get(pk=account.pk).secrets["application_password"] == SECRET
        assert rotate_secrets() == 1  # idempotent: running again is harmless


def test_rotation_without_the_old_key_fails_clearly_and_changes_nothing():
    with override_settings(FIELD_ENCRYPTION_KEYS=[OLD_KEY]):
        account = make_account()
        before = raw_secrets(account.pk)
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY]):
        from django.core.management.base import CommandError

        with pytest.raises(CommandError, match="Keep every key"):
            call_command("rotate_secrets", stdout=io.StringIO())
        assert raw_secrets(account.pk) == before
        with pytest.raises(SecretDecryptionError):
            ChannelAccount.objects.get(pk=account.pk)
