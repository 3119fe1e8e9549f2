"""Export and erasure of one person's data in the tables that existed before the
customer record: audiences, the email channel, analytics and landing pages.

One function pair per table (`<table>_export(subscriber) -> list[dict]`,
`<table>_erase(subscriber)`), grouped into four registry providers named
"audiences-rights", "email-rights", "analytics-rights" and "leads-rights" (their
timeline is empty: the people app's own providers draw these tables on the timeline).
`register_rights_providers()` is called once from the people app's AppConfig.ready().

What erasure keeps, and why (campaigns/people/rights.py runs it in one transaction and
then deletes the subscriber row):
- Delivery rows stay (a send's figures count them, channels/email/progress.py) with
  the address emptied and the subscriber id replaced by minus the row's own id (the
  column has no database foreign key; a negative id names nobody and keeps the
  one-row-per-recipient constraint). A row not yet sent is skipped.
- Analytics events stay (dashboards and rollups count them) with the recipient taken
  out of message_key ("<publication>:erased"), and visitor hash, user agent and an
  order id naming the person emptied; their counted flags are kept, so totals do not
  move.
- Landing-page submissions stay as rows (a page's submission count) with the answers
  removed and the subscriber unset.
- Subscriptions (consent records) and suppression rows naming the address are deleted;
  rights.py then puts the address's keyed hash on the suppression list.
- CSV imports keep their file minus the lines naming the address, and their report
  minus its problem rows.
- Wagtail's admin log keeps its entries about the subscriber without the address.
"""

from __future__ import annotations

import datetime
import decimal

from django.db.models import CharField, Q, Value
from django.db.models.functions import Cast, Concat

from analytics.models import Event, Goal
from campaigns.audiences.import_reading import ImportFileError, decode_csv
from campaigns.audiences.models import ImportJob, Subscription, Suppression
from campaigns.leads.models import LeadSubmission
from channels.email.models import Delivery

from .models import KeyAccount, Note
from .registry import register


def plain(value):
    """A value as JSON can hold it."""
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return None
    return value


def rows(queryset, fields) -> list[dict]:
    return [{f: plain(v) for f, v in row.items()} for row in queryset.values(*fields)]


def subscriber_row(subscriber) -> dict:
    fields = [f.attname for f in subscriber._meta.concrete_fields]
    return {f: plain(getattr(subscriber, f)) for f in fields} | {
        "tags": list(subscriber.tags or []),
        "list_ids": list(subscriber.list_ids or []),
    }


# --- audiences -------------------------------------------------------------------------
def subscriptions_export(subscriber) -> list[dict]:
    qs = Subscription.objects.filter(subscriber=subscriber).order_by("pk")
    fields = [f.attname for f in Subscription._meta.concrete_fields]
    return rows(qs, [*fields, "mailing_list__name"])


def subscriptions_erase(subscriber) -> int:
    return Subscription.objects.filter(subscriber=subscriber).delete()[0]


def suppressions_export(subscriber) -> list[dict]:
    qs = Suppression.objects.filter(email__iexact=subscriber.email)
    return rows(qs, ["email", "reason", "detail", "created_at"])


def suppressions_erase(subscriber) -> int:
    return Suppression.objects.filter(email__iexact=subscriber.email).delete()[0]


def _decoded(job: ImportJob) -> tuple[str, str]:
    """(text, codec) of an import's file, decoded as the import read it."""
    data = bytes(job.file or b"")
    try:
        return decode_csv(data, job.encoding or "auto")
    except ImportFileError:
        return data.decode("utf-8", errors="replace"), "utf-8"


def _import_lines(job: ImportJob, address: str) -> tuple[str, list[str], list[str]]:
    """(codec, lines naming the address, every line) of an import's file."""
    text, codec = _decoded(job)
    lines = text.splitlines(keepends=True)
    return codec, [ln for ln in lines if address in ln.lower()], lines


def _jobs_naming(address: str):
    for job in ImportJob.objects.order_by("pk").iterator(chunk_size=20):
        if address in _decoded(job)[0].lower() or address in str(job.errors).lower():
            yield job


def imports_export(subscriber) -> list[dict]:
    address = subscriber.email.lower()
    found = []
    for job in _jobs_naming(address):
        _codec, naming, _lines = _import_lines(job, address)
        for line in naming:
            found.append(
                {
                    "import": job.pk,
                    "mailing_list_id": job.mailing_list_id,
                    "created_at": plain(job.created_at),
                    "line": line.rstrip("\r\n"),
                }
            )
    return found


def imports_erase(subscriber) -> int:
    address = subscriber.email.lower()
    changed = 0
    for job in list(_jobs_naming(address)):
        codec, _naming, lines = _import_lines(job, address)
        kept = "".join(ln for ln in lines if address not in ln.lower())
        job.file = kept.encode(codec, errors="replace")
        job.errors = [p for p in job.errors or [] if address not in str(p).lower()]
        job.save(update_fields=["file", "errors"])
        changed += 1
    return changed


def admin_log_erase(subscriber) -> int:
    """Wagtail's log of staff edits names a subscriber by its address (its label)."""
    from django.contrib.contenttypes.models import ContentType
    from wagtail.models import ModelLogEntry

    content_type = ContentType.objects.get_for_model(type(subscriber))
    return ModelLogEntry.objects.filter(
        content_type=content_type, object_id=str(subscriber.pk)
    ).update(label="—", data={})


class AudiencesRights:
    name = "audiences-rights"

    def timeline(self, subscriber, before, limit):
        return []

    def export(self, subscriber):
        return {
            "subscriptions": subscriptions_export(subscriber),
            "suppressions": suppressions_export(subscriber),
            "imports": imports_export(subscriber),
        }

    def erase(self, subscriber):
        subscriptions_erase(subscriber)
        suppressions_erase(subscriber)
        imports_erase(subscriber)
        admin_log_erase(subscriber)


# --- email -----------------------------------------------------------------------------
DELIVERY_FIELDS = [
    "publication_id",
    "email",
    "status",
    "attempts",
    "sent_at",
    "message_id",
    "error",
]


def deliveries_export(subscriber) -> list[dict]:
    return rows(Delivery.objects.filter(subscriber=subscriber).order_by("pk"), DELIVERY_FIELDS)


def deliveries_erase(subscriber) -> int:
    qs = Delivery.objects.filter(subscriber=subscriber)
    qs.filter(status__in=[Delivery.Status.PENDING, Delivery.Status.SENDING]).update(
        status=Delivery.Status.SKIPPED, claim_token=""
    )
    changed = 0
    for pk in list(qs.values_list("pk", flat=True)):
        changed += Delivery.objects.filter(pk=pk).update(
            subscriber_id=-pk, email="", error="", message_id=""
        )
    return changed


class EmailRights:
    name = "email-rights"

    def timeline(self, subscriber, before, limit):
        return []

    def export(self, subscriber):
        return {"deliveries": deliveries_export(subscriber)}

    def erase(self, subscriber):
        deliveries_erase(subscriber)


# --- analytics -------------------------------------------------------------------------
EVENT_FIELDS = [
    "kind",
    "occurred_at",
    "campaign_id",
    "channel",
    "publication_id",
    "link_id",
    "page_id",
    "is_bot",
    "user_agent",
    "goal_id",
    "value_cents",
    "currency",
    "order_id",
]


def message_keys(subscriber) -> list[str]:
    """The keys naming the person in events ("<publication>:s<id>"), one per publication
    they were sent (campaigns/audiences/services.recipient_key): indexed look-ups that
    also find events stored before Event.subscriber_id was filled."""
    publications = set(
        Delivery.objects.filter(subscriber=subscriber).values_list("publication_id", flat=True)
    )
    return [f"{p}:s{subscriber.pk}" for p in sorted(publications)]


def _events(subscriber):
    """Every event naming the person: by Event.subscriber_id (the timeline's index) or
    by a message key of a publication they were sent."""
    return Event.objects.filter(
        Q(subscriber_id=subscriber.pk) | Q(message_key__in=message_keys(subscriber))
    )


def events_export(subscriber) -> list[dict]:
    return rows(_events(subscriber).order_by("occurred_at", "pk"), EVENT_FIELDS)


def events_erase(subscriber) -> int:
    return _events(subscriber).update(
        message_key=Concat(Cast("publication_id", CharField()), Value(":erased")),
        subscriber_id=0,
        visitor_hash="",
        user_agent="",
    )


def conversions(subscriber):
    """Conversions a landing-page form of this person reported: order "subscriber:<id>"
    (analytics.conversions.form_submitted); found through the per-goal order index."""
    goals = list(Goal.objects.values_list("pk", flat=True))
    return Event.objects.filter(
        kind=Event.Kind.CONVERSION, goal_id__in=goals, order_id=f"subscriber:{subscriber.pk}"
    )


class AnalyticsRights:
    name = "analytics-rights"

    def timeline(self, subscriber, before, limit):
        return []

    def export(self, subscriber):
        return {"events": events_export(subscriber)}

    def erase(self, subscriber):
        events_erase(subscriber)


# --- leads -----------------------------------------------------------------------------
def _submissions(subscriber):
    return LeadSubmission.objects.filter(
        Q(subscriber=subscriber) | Q(form_data__icontains=subscriber.email)
    ).order_by("pk")


def submissions_export(subscriber) -> list[dict]:
    return rows(
        _submissions(subscriber),
        ["page_id", "page__title", "submit_time", "form_data", "subscribe_requested", "language"],
    )


def submissions_erase(subscriber) -> int:
    return _submissions(subscriber).update(form_data={}, subscriber=None)


def conversions_export(subscriber) -> list[dict]:
    return rows(conversions(subscriber).order_by("occurred_at"), EVENT_FIELDS)


def conversions_erase(subscriber) -> int:
    return conversions(subscriber).update(order_id="", visitor_hash="", user_agent="")


class LeadsRights:
    name = "leads-rights"

    def timeline(self, subscriber, before, limit):
        return []

    def export(self, subscriber):
        return {
            "form_submissions": submissions_export(subscriber),
            "conversions": conversions_export(subscriber),
        }

    def erase(self, subscriber):
        conversions_erase(subscriber)
        submissions_erase(subscriber)


# --- the customer record's own tables ------------------------------------------------------
class PeopleRights:
    """Staff notes and the person's key account: exported; erased with the subscriber
    row (both cascade from it)."""

    name = "people-rights"

    def timeline(self, subscriber, before, limit):
        return []

    def export(self, subscriber):
        notes = Note.objects.filter(subscriber=subscriber).order_by("created_at", "pk")
        accounts = KeyAccount.objects.filter(subscriber=subscriber)
        return {
            "notes": rows(notes, ["created_at", "author__username", "text"]),
            "key_account": rows(accounts, ["created_at", "owner__username"]),
        }

    def erase(self, subscriber):
        Note.objects.filter(subscriber=subscriber).delete()


def register_rights_providers() -> None:
    # Analytics before email: the person's message keys are read from their deliveries.
    for provider in (
        AudiencesRights(),
        AnalyticsRights(),
        LeadsRights(),
        EmailRights(),
        PeopleRights(),
    ):
        register(provider)
