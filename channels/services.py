"""Channel accounts: save from the admin form, test the connection, rotate the
encryption key of every stored secret."""

from __future__ import annotations

from django.db import connection, transaction
from django.utils.translation import gettext as _

from .base import PublishError
from .crypto import EncryptedJSONField, SecretDecryptionError, rotate_token
from .models import ChannelAccount


def save_channel_account(
    account: ChannelAccount, *, settings: dict, new_secrets: dict, cleared: set[str]
) -> ChannelAccount:
    """Save an account from the admin form. A setting given as None (or "") is removed,
    so the adapter's default applies; keys not given are kept as stored (older keys,
    keys written by code). Secrets are write-only: an empty value keeps the stored
    one, a value replaces it, and names in `cleared` are removed."""
    secrets = dict(account.secrets or {}) if account.pk else {}
    for name in cleared:
        secrets.pop(name, None)
    secrets.update({k: v for k, v in new_secrets.items() if v})
    merged = dict(account.settings or {})
    for name, value in settings.items():
        if value is None or value == "":
            merged.pop(name, None)
        else:
            merged[name] = value
    account.settings = merged
    account.secrets = secrets
    account.save()
    return account


def test_channel_account(account: ChannelAccount) -> tuple[bool, str]:
    """Run the adapter's validate_account. Returns (ok, message for the user); never
    raises for a remote failure, so the admin can always show a clear answer."""
    try:
        adapter = account.get_adapter()
        adapter.validate_account(account)
    except PublishError as exc:
        hint = "" if exc.permanent else " " + _("(temporary: try again later)")
        return False, _("Connection failed: %(error)s") % {"error": exc.message} + hint
    except SecretDecryptionError:
        return False, _("The stored secrets cannot be decrypted with the configured keys.")
    return True, _("Connection works: credentials and settings accepted.")


def encrypted_columns() -> list[tuple[type, str, str]]:
    """(model, table, column) of every EncryptedJSONField in the project, so a rotation
    also covers encrypted fields other apps add later."""
    from django.apps import apps

    found = []
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedJSONField):
                found.append((model, model._meta.db_table, field.column))
    return found


def rotate_secrets(batch_size: int = 200) -> int:
    """Re-encrypt every encrypted field (ChannelAccount.secrets and any other
    EncryptedJSONField) with the newest key of settings.FIELD_ENCRYPTION_KEYS.
    Idempotent; returns the number of values rewritten.

    Works on the raw column, batch by batch under row locks, so it never needs to
    understand the JSON inside and a concurrent token refresh cannot be overwritten by
    a stale copy. Raises SecretDecryptionError if a value cannot be decrypted with any
    listed key (that batch is rolled back; earlier batches stay rotated, which is safe).
    """
    rotated = 0
    for model, table, column in encrypted_columns():
        pk_column = model._meta.pk.column
        qn = connection.ops.quote_name
        ids = list(model._default_manager.order_by("pk").values_list("pk", flat=True))
        for start in range(0, len(ids), batch_size):
            chunk = ids[start : start + batch_size]
            placeholders = ",".join(["%s"] * len(chunk))
            lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT {qn(pk_column)}, {qn(column)} FROM {qn(table)} "  # noqa: S608
                    f"WHERE {qn(pk_column)} IN ({placeholders}){lock}",
                    chunk,
                )
                for pk, token in cursor.fetchall():
                    if not token:
                        continue
                    cursor.execute(
                        f"UPDATE {qn(table)} SET {qn(column)} = %s "  # noqa: S608
                        f"WHERE {qn(pk_column)} = %s",
                        [rotate_token(token), pk],
                    )
                    rotated += 1
    return rotated


def connect_reddit_account(account_pk: int, tokens: dict) -> ChannelAccount:
    """Store freshly granted Reddit tokens in the account's encrypted secrets (under the
    row lock the token refresh also takes) and record which Reddit user they belong to.
    Raises PublishError if Reddit does not tell us who the token is for."""
    from .forum.reddit import RedditAdapter, user_agent
    from .http import client_for_account, send

    with transaction.atomic():
        account = ChannelAccount.objects.select_for_update().get(pk=account_pk)
        account.secrets = {**(account.secrets or {}), **tokens}
        account.save(update_fields=["secrets", "updated_at"])
    adapter = RedditAdapter(account)
    with client_for_account(
        account,
        headers={
            "Authorization": f"bearer {tokens['access_token']}",
            "User-Agent": user_agent(account),
        },
    ) as client:
        me = send(client, "GET", adapter.api_url("api/v1/me")).json()
    username = (me or {}).get("name")
    if not username:
        raise PublishError(_("Reddit did not say who this token belongs to"), permanent=True)
    with transaction.atomic():
        account = ChannelAccount.objects.select_for_update().get(pk=account_pk)
        account.settings = {**(account.settings or {}), "username": username}
        account.save(update_fields=["settings", "updated_at"])
    return account
