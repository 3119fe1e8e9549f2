"""Visitors: daily salted hashes, and the payload a request's event carries."""

import datetime
import re

import time_machine

from analytics.models import DailySalt, Event
from analytics.visitors import visitor_hash
from tests.analytics.conftest import FIREFOX

MIDNIGHT = datetime.datetime(2026, 11, 3, tzinfo=datetime.UTC)


def test_visitor_hash_uses_the_salt_of_the_click_day(client, links):
    link = links[0]
    for moment in (
        MIDNIGHT - datetime.timedelta(milliseconds=1),
        MIDNIGHT,
        MIDNIGHT + datetime.timedelta(hours=23),
        MIDNIGHT - datetime.timedelta(hours=1),  # clocks may go back: still the right day
    ):
        with time_machine.travel(moment, tick=False):
            client.get(f"/t/{link.code}", HTTP_USER_AGENT=FIREFOX, REMOTE_ADDR="10.0.0.9")
    hashes = list(Event.objects.order_by("pk").values_list("visitor_hash", flat=True))
    before, after = MIDNIGHT.date() - datetime.timedelta(days=1), MIDNIGHT.date()
    assert hashes == [
        visitor_hash("10.0.0.9", FIREFOX, before),
        visitor_hash("10.0.0.9", FIREFOX, after),
        visitor_hash("10.0.0.9", FIREFOX, after),
        visitor_hash("10.0.0.9", FIREFOX, before),
    ]
    assert hashes[0] != hashes[1]
    assert set(DailySalt.objects.values_list("day", flat=True)) == {before, after}


def test_event_ids_are_unique_hex(client, links):
    for _ in range(20):
        client.get(f"/t/{links[0].code}", HTTP_USER_AGENT=FIREFOX)
    uids = list(Event.objects.values_list("uid", flat=True))
    assert len(set(uids)) == 20
    assert all(re.fullmatch(r"[0-9a-f]{32}", uid) for uid in uids)


def test_prefetch_headers_are_read_from_the_request(client, links):
    link = links[0]
    client.get(f"/t/{link.code}", HTTP_USER_AGENT=FIREFOX, HTTP_SEC_PURPOSE="prefetch")
    client.get(f"/t/{link.code}", HTTP_USER_AGENT=FIREFOX, HTTP_PURPOSE="prefetch")
    client.get(f"/t/{link.code}", HTTP_USER_AGENT=FIREFOX, HTTP_X_MOZ="prefetch")
    client.get(f"/t/{link.code}", HTTP_USER_AGENT="  ")
    client.get(f"/t/{link.code}", HTTP_USER_AGENT=FIREFOX)
    reasons = list(Event.objects.order_by("pk").values_list("bot_reason", flat=True))
    assert reasons == ["prefetch", "prefetch", "prefetch", "no_user_agent", ""]
