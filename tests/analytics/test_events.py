"""Storing events: validation of recorded events, bots and mail scanners, unique
counting."""

import datetime

import pytest
import time_machine

from analytics.events import record_events
from analytics.models import Event
from analytics.tokens import message_token
from tests.analytics.conftest import FIREFOX, click

T0 = datetime.datetime(2026, 11, 2, 9, 0, tzinfo=datetime.UTC)


def test_record_events_validates_everything_first(email_publication):
    good = {"kind": "send", "publication_id": email_publication.pk, "occurred_at": T0}
    for bad, message in [
        ({**good, "kind": "click"}, "kind"),
        ({**good, "publication_id": "x"}, "publication_id"),
        ({**good, "occurred_at": T0.replace(tzinfo=None)}, "aware"),
        ("nope", "not a dict"),
    ]:
        with pytest.raises(ValueError, match=message):
            record_events([good, bad])
    assert not Event.objects.exists()


def test_record_events_is_idempotent_per_recipient(email_publication):
    events = [
        {"kind": k, "publication_id": email_publication.pk, "occurred_at": T0, "recipient_key": r}
        for k in ("send", "delivery")
        for r in ("r1", "r2")
    ]
    assert record_events(events) == 4
    assert record_events(events) == 0
    assert Event.objects.count() == 4
    delivery = Event.objects.filter(kind="delivery").first()
    assert delivery.channel == "email" and delivery.campaign_id == email_publication.campaign_id
    assert delivery.message_key.startswith(f"{email_publication.pk}:")


def test_bot_user_agent_is_flagged(client, email_links):
    click(client, email_links[0], ua="Mozilla/5.0 (compatible; bingbot/2.0)")
    event = Event.objects.get()
    assert event.is_bot and event.bot_reason == "user_agent" and not event.is_unique


def test_click_within_two_seconds_of_delivery_is_a_scanner(client, email_publication, email_links):
    token = message_token(email_publication.pk, "r1")
    record_events(
        [
            {
                "kind": "delivery",
                "publication_id": email_publication.pk,
                "occurred_at": T0,
                "recipient_key": "r1",
            }
        ]
    )
    with time_machine.travel(T0 + datetime.timedelta(seconds=1), tick=False):
        click(client, email_links[0], token)
    with time_machine.travel(T0 + datetime.timedelta(minutes=5), tick=False):
        click(client, email_links[0], token)
    first, second = Event.objects.filter(kind="click").order_by("occurred_at")
    assert first.is_bot and first.bot_reason == "fast_after_delivery"
    assert not second.is_bot and second.is_unique


def test_every_link_at_once_is_a_scanner(client, email_publication, email_links):
    token = message_token(email_publication.pk, "r2")
    with time_machine.travel(T0, tick=False):
        click(client, email_links[0], token)
        click(client, email_links[1], token)
    with time_machine.travel(T0 + datetime.timedelta(seconds=1), tick=False):
        click(client, email_links[2], token)
    assert Event.objects.filter(kind="click").count() == 3
    assert set(Event.objects.values_list("bot_reason", flat=True)) == {"all_links_at_once"}
    assert not Event.objects.filter(is_unique=True).exists()


def test_a_person_clicking_two_of_three_links_is_human(client, email_publication, email_links):
    token = message_token(email_publication.pk, "r3")
    with time_machine.travel(T0, tick=False):
        click(client, email_links[0], token)
        click(client, email_links[1], token)
    assert not Event.objects.filter(is_bot=True).exists()


def test_unique_clicks_per_message_and_per_daily_visitor(client, email_publication, email_links):
    token = message_token(email_publication.pk, "r4")
    link = email_links[0]
    with time_machine.travel(T0, tick=False):
        click(client, link, token, ip="10.0.0.1")
        click(client, link, token, ip="10.0.0.2")  # same message from another device
        click(client, link, ip="10.0.0.3")
        click(client, link, ip="10.0.0.3")  # same visitor again the same day
        click(client, link, ip="10.0.0.4")
    with time_machine.travel(T0 + datetime.timedelta(days=1), tick=False):
        click(client, link, ip="10.0.0.3")  # a new day, a new hash
        click(client, link, token, ip="10.0.0.1")  # a message stays one recipient
    assert Event.objects.filter(kind="click").count() == 7
    assert Event.objects.filter(kind="click", is_unique=True).count() == 4


def test_opens_unique_per_message(client, email_publication):
    token = message_token(email_publication.pk, "r5")
    for _ in range(3):
        client.get(f"/t/o/{token}", HTTP_USER_AGENT=FIREFOX)
    assert Event.objects.filter(kind="open").count() == 3
    assert Event.objects.filter(kind="open", is_unique=True).count() == 1
