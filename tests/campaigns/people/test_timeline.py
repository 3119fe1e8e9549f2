"""The person's timeline: providers merged newest first, paged by a cursor that neither
repeats nor loses entries sharing a time; each provider's entries."""

import datetime
import re

import pytest

from analytics.events import record_events, store_events
from analytics.models import Event
from analytics.tokens import message_token
from campaigns.audiences import services as audiences
from campaigns.audiences.models import Subscriber
from campaigns.people import registry
from campaigns.people.models import Note
from campaigns.people.registry import TimelineEntry
from campaigns.people.timeline import person_timeline
from tests.analytics.conftest import click

pytestmark = pytest.mark.django_db
T0 = datetime.datetime(2026, 11, 2, 9, 0, tzinfo=datetime.UTC)


class Fixed:
    """A provider with given times (ids in its order for equal times)."""

    def __init__(self, name, times):
        self.name = name
        self.items = [
            TimelineEntry(at=t, kind=f"{name}.x", title=f"{name}{i}") for i, t in enumerate(times)
        ]

    def timeline(self, subscriber, before, limit):
        found = [e for e in self.items if before is None or e.at < before]
        return sorted(found, key=lambda e: e.at, reverse=True)[:limit]

    def export(self, subscriber):
        return {}

    def erase(self, subscriber):
        pass


@pytest.fixture
def only(monkeypatch):
    def use(*providers):
        monkeypatch.setattr(registry, "_providers", {p.name: p for p in providers})

    return use


def walk(subscriber, limit):
    pages, cursor = [], None
    while True:
        page = person_timeline(subscriber, cursor, limit=limit)
        pages.append(page.entries)
        if not page.older:
            return pages
        cursor = page.older


def test_pages_merge_providers_newest_first_without_repeats_at_equal_times(only, wang):
    same = T0
    a = Fixed("a", [same] * 7 + [T0 - datetime.timedelta(minutes=i) for i in range(1, 6)])
    b = Fixed("b", [same] * 4 + [T0 - datetime.timedelta(minutes=3)] * 3)
    only(a, b)
    pages = walk(wang, limit=3)
    titles = [e.title for page in pages for e in page]
    assert len(titles) == len(set(titles)) == 19
    times = [e.at for page in pages for e in page]
    assert times == sorted(times, reverse=True)
    assert all(len(p) == 3 for p in pages[:-1])
    # the same walk twice gives the same pages (a stable cursor)
    assert [[e.title for e in p] for p in walk(wang, limit=3)] == [
        [e.title for e in p] for p in pages
    ]


def test_malformed_cursor_is_the_first_page(only, wang):
    only(Fixed("a", [T0]))
    assert [e.title for e in person_timeline(wang, "nonsense~x").entries] == ["a0"]


def test_each_provider_shows_its_entries(
    client, settings, wang, news, email_publication, email_links
):
    settings.REDIS_URL = ""  # the click stored as it happens (no queue to drain)
    audiences.subscribe(wang.email, news, method="admin", double_opt_in=False)
    Note.objects.create(subscriber=wang, text="Called about the spring order")
    key = audiences.recipient_key(wang.pk)
    record_events(
        [
            {
                "kind": k,
                "publication_id": email_publication.pk,
                "occurred_at": T0,
                "recipient_key": key,
            }
            for k in ("send", "delivery")
        ]
    )
    click(client, email_links[1], token=message_token(email_publication.pk, key))
    kinds = [e.kind for e in person_timeline(wang).entries]
    for kind in ("email.send", "email.delivery", "email.click", "notes.note"):
        assert kind in kinds
    assert any(k.startswith("audiences.") for k in kinds)
    clicked = next(e for e in person_timeline(wang).entries if e.kind == "email.click")
    assert "b.example.com" in clicked.detail and clicked.url
    # someone else's events are not on this timeline
    other = Subscriber.objects.create(email="li@example.cn")
    assert [e for e in person_timeline(other).entries if e.kind.startswith("email.")] == []


def test_stored_events_carry_their_subscriber(email_publication):
    person = Subscriber.objects.create(email="carried@example.org")
    record_events(
        [
            {
                "kind": "send",
                "publication_id": email_publication.pk,
                "occurred_at": T0,
                "recipient_key": f"s{person.pk}",
            },
            {
                "kind": "send",
                "publication_id": email_publication.pk,
                "occurred_at": T0,
                "recipient_key": "x9",
            },
        ]
    )
    assert sorted(Event.objects.values_list("subscriber_id", flat=True)) == [0, person.pk]
    assert store_events([]) == 0


def test_suppression_and_unsubscribe_entries(wang, news):
    audiences.subscribe(wang.email, news, method="admin", double_opt_in=False)
    audiences.unsubscribe(wang, news)
    audiences.suppress_address(wang.email, "manual", "asked by phone")
    kinds = [e.kind for e in person_timeline(wang).entries]
    assert {"audiences.subscribed", "audiences.unsubscribed", "audiences.suppressed"} <= set(kinds)


def test_form_submission_entry(wang, landing):
    from campaigns.leads.models import LeadSubmission

    LeadSubmission.objects.create(page=landing, form_data={"email": wang.email}, subscriber=wang)
    entries = person_timeline(wang).entries
    assert any(e.kind == "leads.submitted" and landing.title in e.title for e in entries)


def test_older_link_pages_through_http(client, only, wang, marketer):
    a = Fixed("a", [T0] * 60 + [T0 - datetime.timedelta(hours=i) for i in range(1, 41)])
    only(a)
    client.force_login(marketer)
    url = f"/admin/people/{wang.pk}/"
    seen, query = [], ""
    for _ in range(5):
        html = client.get(url + query).content.decode()
        seen += re.findall(r"<strong>(a\d+)</strong>", html)
        found = re.search(r'href="(\?before=[^"]+)" data-timeline-older', html)
        if not found:
            break
        query = found.group(1).replace("&amp;", "&")
    assert len(seen) == len(set(seen)) == 100
