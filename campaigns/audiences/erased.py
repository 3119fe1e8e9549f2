"""Erased addresses: kept only as a keyed hash on the suppression list.

When a person's data is erased (campaigns/people/rights.py) their address is replaced
on the suppression list by `erased_key(address)`: "erased:" and the HMAC-SHA256 of the
address (NFC, stripped, lower case) under AUDIENCES_ERASURE_KEY, stored in
Suppression.email with reason "erased". A keyed hash, not a plain digest: whoever holds
a dump of the database but not the key cannot test guessed addresses against it.

Every check of the suppression list asks this module too: `is_suppressed` (the
subscribe forms, a landing page's opt-in, the API), the CSV import's report and its
run (`erased_test`), and every send batch right before it goes out
(channels/email/claims.py, `erased_among`). A suppression row holding a key never
matches an address in the database triggers (no "@"), so those ignore it.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from collections.abc import Callable, Iterable

from django.conf import settings

from .models import Suppression

PREFIX = "erased:"


def _derived(secret: str) -> bytes:
    # Development default: derived from SECRET_KEY, never SECRET_KEY itself.
    return hmac.new(secret.encode(), b"audiences.erased", hashlib.sha256).digest()


def _key() -> bytes:
    """The key new erasures are written with."""
    configured = settings.AUDIENCES_ERASURE_KEY
    if configured:
        return configured.encode()
    return _derived(settings.SECRET_KEY)


def _keys() -> list[bytes]:
    """The keys an address is tested with: the current one and, while the key derives
    from SECRET_KEY, one per SECRET_KEY_FALLBACKS entry, so rotating SECRET_KEY does
    not make the people erased before it mailable again."""
    keys = [_key()]
    if not settings.AUDIENCES_ERASURE_KEY:
        for secret in getattr(settings, "SECRET_KEY_FALLBACKS", None) or []:
            if _derived(secret) not in keys:
                keys.append(_derived(secret))
    return keys


def canonical(email: str) -> str:
    return unicodedata.normalize("NFC", (email or "").strip()).lower()


def erased_key(email: str, key: bytes | None = None) -> str:
    digest = hmac.new(key or _key(), canonical(email).encode(), hashlib.sha256).hexdigest()
    return PREFIX + digest


def is_erased(email: str) -> bool:
    return Suppression.objects.filter(email__in=[erased_key(email, k) for k in _keys()]).exists()


def erased_among(emails: Iterable[str]) -> set[str]:
    """Which of `emails` (as given) belong to erased people: one query."""
    emails = list(emails)
    keys = {erased_key(e, key): e for key in _keys() for e in emails}
    if not keys:
        return set()
    found = Suppression.objects.filter(email__in=list(keys)).values_list("email", flat=True)
    return {keys[k] for k in found}


def erased_test() -> Callable[[str], bool]:
    """A test for many addresses (an import): the erased keys loaded once, and no hashing
    at all while nobody has been erased."""
    keys = set(
        Suppression.objects.filter(reason=Suppression.Reason.ERASED).values_list("email", flat=True)
    )
    if not keys:
        return lambda email: False
    secrets = _keys()
    return lambda email: any(erased_key(email, key) in keys for key in secrets)


def anyone_erased() -> bool:
    return Suppression.objects.filter(reason=Suppression.Reason.ERASED).exists()


def record_erased(email: str) -> Suppression:
    """Keep `email` on the suppression list as its key only (idempotent)."""
    row, _created = Suppression.objects.get_or_create(
        email=erased_key(email), defaults={"reason": Suppression.Reason.ERASED}
    )
    return row


def check_erasure_key(app_configs=None, **kwargs):
    """Deploy check: without AUDIENCES_ERASURE_KEY the key derives from SECRET_KEY, and
    a SECRET_KEY rotated without keeping the old one in SECRET_KEY_FALLBACKS makes the
    erased addresses mailable again."""
    from django.core.checks import Warning as CheckWarning

    if settings.AUDIENCES_ERASURE_KEY:
        return []
    return [
        CheckWarning(
            "AUDIENCES_ERASURE_KEY is not set: the key erased addresses are kept under "
            "derives from SECRET_KEY.",
            hint="Set AUDIENCES_ERASURE_KEY once (a long random string) and never change "
            "it; until then keep every old SECRET_KEY in SECRET_KEY_FALLBACKS.",
            id="audiences.W001",
        )
    ]
