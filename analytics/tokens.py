"""Signed message tokens: which message (one recipient of one publication) an open or
a click came from, carried in the open pixel's URL and a tracked link's `?m=`.

Public contract: message_token(publication_id, recipient_key) -> str,
parse_message_token(token), open_pixel_url(token) -> str.
"""

import base64
import re

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

# The payload in URL-safe base64, a dot, and 12 bytes of signature (16 characters).
TOKEN_RE = re.compile(r"\A[A-Za-z0-9_-]{1,400}\.[A-Za-z0-9_-]{16}\Z")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _token_signature(payload: str, secret: str) -> str:
    return _b64(salted_hmac("analytics.message", payload, secret=secret).digest()[:12])


def message_token(publication_id, recipient_key) -> str:
    """A signed, URL-safe token naming one message (one recipient of one publication)."""
    payload = f"{int(publication_id)}:{recipient_key}"
    return f"{_b64(payload.encode())}.{_token_signature(payload, settings.SECRET_KEY)}"


def parse_message_token(token) -> tuple[int, str] | None:
    """(publication_id, recipient_key) of a valid token, None for anything else.
    Tokens signed with a key in SECRET_KEY_FALLBACKS still verify after a rotation."""
    if not isinstance(token, str) or not TOKEN_RE.match(token):
        return None
    encoded, signature = token.split(".", 1)
    try:
        payload = _unb64(encoded).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    secrets_to_try = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    if not any(
        constant_time_compare(signature, _token_signature(payload, s)) for s in secrets_to_try
    ):
        return None
    pid, _, recipient_key = payload.partition(":")
    if not pid.isdigit():
        return None
    return int(pid), recipient_key


def open_pixel_url(token: str) -> str:
    """URL of the 1x1 open-tracking GIF for the message `token` names."""
    return f"{settings.SITE_BASE_URL.rstrip('/')}/t/o/{token}"
