"""Secrets at rest: Fernet (AES-128-CBC + HMAC) with a rotatable key list.

settings.FIELD_ENCRYPTION_KEYS lists keys newest first. New values are encrypted with
the first; any listed key decrypts. To rotate: put a new key first, deploy, run
`manage.py rotate_secrets`, then drop the old key.
"""

import json
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


class SecretDecryptionError(Exception):
    """A stored secret cannot be decrypted with any configured key."""


@lru_cache(maxsize=8)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k.encode() if isinstance(k, str) else k) for k in keys])


def get_fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt_str(plain: str) -> str:
    return get_fernet().encrypt(plain.encode("utf-8")).decode("ascii")


def decrypt_str(token: str) -> str:
    try:
        return get_fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken as exc:
        raise SecretDecryptionError(
            "stored secret cannot be decrypted with the configured keys"
        ) from exc


def rotate_token(token: str) -> str:
    """Re-encrypt a token with the newest key (MultiFernet.rotate)."""
    try:
        return get_fernet().rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken as exc:
        raise SecretDecryptionError(
            "stored secret cannot be decrypted with the configured keys"
        ) from exc


class EncryptedJSONField(models.TextField):
    """A dict stored as one Fernet token. The database only ever sees ciphertext."""

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return {}
        return json.loads(decrypt_str(value))

    def to_python(self, value):
        if isinstance(value, dict):
            return value
        if value in (None, ""):
            return {}
        return json.loads(decrypt_str(value))

    def value_to_string(self, obj):
        # Serialisers (dumpdata, fixtures) get the ciphertext too, never the dict:
        # a database dump must not contain a secret in clear text.
        return self.get_prep_value(self.value_from_object(obj))

    def get_prep_value(self, value):
        if value in (None, ""):
            value = {}
        return encrypt_str(json.dumps(value, ensure_ascii=False, sort_keys=True))
