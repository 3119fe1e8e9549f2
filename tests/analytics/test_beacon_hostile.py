"""The unauthenticated, CSRF-exempt POSTs outside the email webhooks (the page-view
beacon, the RFC 8058 one-click unsubscribe) fed the Big List of Naughty Strings: a
clear 4xx or their normal answer, never a 500 (issue 18)."""

import json
from pathlib import Path
from urllib.parse import quote

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

CORPUS = Path(__file__).resolve().parents[2].parent / "shared/corpora/naughty-strings/blns.json"


def test_the_beacon_refuses_a_page_id_that_only_unicode_calls_digits():
    client = Client(raise_request_exception=False)
    for page_id in ("²", "₀₁₂", "⁰⁴⁵"):  # str.isdigit() says yes, int() says no
        assert client.post("/a/pv", {"p": page_id}).status_code == 400


def test_naughty_strings_never_break_the_beacon_or_one_click_unsubscribe():
    assert CORPUS.exists(), f"the naughty-strings corpus is missing: expected {CORPUS}"
    client = Client(raise_request_exception=False)
    failures = []
    for text in json.loads(CORPUS.read_text(encoding="utf-8")):
        answers = {
            "beacon p": client.post("/a/pv", {"p": text}),
            "beacon r, u": client.post("/a/pv", {"p": "1", "r": text, "u": text}),
            "unsubscribe": client.post(f"/u/{quote(text.replace('/', '_'), safe='')}/"),
        }
        failures += [(name, text[:40]) for name, r in answers.items() if r.status_code >= 500]
    assert failures == []
