"""What each app knows about one person, declared in one shape (the customer record).

The person's page (timeline), the key-account panel and the personal-data rights
(export and erasure) read every app that holds something about a subscriber through
this registry, so the people app imports none of them and none of them imports it
beyond this module. An app registers its provider in its AppConfig.ready():

    from campaigns.people.registry import register
    register(SurveyData())

A provider answers for one subscriber (`campaigns.audiences.models.Subscriber`):

- `timeline(subscriber, before, limit)`: at most `limit` TimelineEntry, newest first,
  each strictly older than `before` (None: from now). Must be an indexed query: the
  page merges every provider's newest `limit` entries and shows `limit` of them.
- `export(subscriber)`: {"<table or kind>": [row dict, ...]} of everything personal it
  holds, JSON-serialisable (datetimes as ISO strings), for the person's copy.
- `erase(subscriber)`: delete or anonymise every personal datum it holds (address,
  name, phone, free text the person wrote, anything that identifies them), keeping
  only what counts need without identifying anyone. Runs inside the erasure's
  transaction, before the subscriber row itself is deleted.
- optional `last_contact(subscriber_ids) -> {id: datetime}` (the latest time the
  company and the person were in touch: a message sent, a reply, a note) and
  `open_cases(subscriber_ids) -> {id: int}` (cases still waiting for the company);
  the key-account panel sums what the providers that have them answer.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Protocol

from django.db.models import Max


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime.datetime
    # A stable code for filters and tests: "<app>.<what>", e.g. "email.sent",
    # "survey.answered", "feedback.case_opened".
    kind: str
    # Already in the reader's language (the request's active translation).
    title: str
    detail: str = ""
    # An admin link to the object, where one exists.
    url: str = ""
    # Anything else the template may show (scores, status); kept small.
    extra: dict = field(default_factory=dict)


class PersonDataProvider(Protocol):
    name: str

    def timeline(
        self, subscriber, before: datetime.datetime | None, limit: int
    ) -> list[TimelineEntry]: ...

    def export(self, subscriber) -> dict[str, list[dict]]: ...

    def erase(self, subscriber) -> None: ...


def latest_per_person(queryset, time_field: str, person_field: str = "subscriber_id") -> dict:
    """{subscriber id: the latest `time_field`} over `queryset`: the shape of every
    provider's `last_contact`."""
    rows = queryset.values(person_field).annotate(at=Max(time_field))
    return {row[person_field]: row["at"] for row in rows}


_providers: dict[str, PersonDataProvider] = {}


def register(provider: PersonDataProvider) -> None:
    """Add (or replace, by name) a provider. Called from AppConfig.ready()."""
    _providers[provider.name] = provider


def providers() -> list[PersonDataProvider]:
    return list(_providers.values())
