"""Signed message tokens: round trip, tampering, key rotation, the open pixel URL."""

import base64

from analytics import tokens


def test_message_token_round_trip_and_tampering(settings):
    token = tokens.message_token(12, "sub-7")
    assert tokens.parse_message_token(token) == (12, "sub-7")
    payload, sig = token.split(".")
    assert tokens.parse_message_token(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    forged = base64.urlsafe_b64encode(b"13:sub-7").rstrip(b"=").decode() + "." + sig
    assert tokens.parse_message_token(forged) is None
    assert tokens.parse_message_token("") is None
    assert tokens.parse_message_token("x" * 1000) is None
    assert tokens.open_pixel_url(token) == f"https://hub.example.com/t/o/{token}"
    # Still valid after a key rotation when the old key is a fallback.
    old = settings.SECRET_KEY
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "new-key-" + "x" * 40, [old]
    assert tokens.parse_message_token(token) == (12, "sub-7")
