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

import csv
import datetime
import decimal
import json
import re

from django.db.models import CharField, Q, Value
from django.db.models.functions import Cast, Concat

from analytics.models import Event, Goal
from campaigns.audiences import import_apply
from campaigns.audiences.erased import canonical
from campaigns.audiences.import_reading import ImportFileError, decode_csv, sniff_dialect
from campaigns.audiences.models import AudienceChange, ImportJob, Subscription, Suppression
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


def history_export(subscriber) -> list[dict]:
    """The person's subscription, tag and suppression history (AudienceChange; its
    rows go with the subscriber row on erasure, and hold no address)."""
    changes = AudienceChange.objects.filter(subscriber=subscriber).order_by("at", "pk")
    return rows(changes, ["at", "kind", "mailing_list__name", "detail"])


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


def _names(cells, address: str) -> bool:
    """Whether one of `cells` is the address (whole value, canonical form): li@ is not
    wangli@."""
    return any(canonical(str(c)) == address for c in cells or [])


def _line_names(line: str, dialect, address: str) -> bool:
    if address not in canonical(line):  # cheap prefilter
        return False
    try:
        return any(_names(cells, address) for cells in csv.reader([line], dialect))
    except csv.Error:
        return False


def _import_lines(job: ImportJob, address: str) -> tuple[str, list[bool], list[str]]:
    """(codec, whether each line names the address, every line) of an import's file;
    each line parsed as a CSV record with the delimiter the import sniffed."""
    text, codec = _decoded(job)
    dialect = sniff_dialect(text[:4096])
    lines = text.splitlines(keepends=True)
    return codec, [_line_names(ln, dialect, address) for ln in lines], lines


def _problem_names(problem, address: str) -> bool:
    if not isinstance(problem, dict):
        return address in canonical(str(problem))
    return _names([problem.get("email", "")], address) or _names(problem.get("values"), address)


def _jobs_naming(address: str):
    for job in ImportJob.objects.order_by("pk").iterator(chunk_size=20):
        _codec, naming, _lines = _import_lines(job, address)
        if any(naming) or any(_problem_names(p, address) for p in job.errors or []):
            yield job


def imports_export(subscriber) -> list[dict]:
    address = canonical(subscriber.email)
    found = []
    for job in _jobs_naming(address):
        _codec, naming, lines = _import_lines(job, address)
        for line, names in zip(lines, naming, strict=True):
            if names:
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
    """Each line naming the person becomes an empty line (the rows after it keep their
    numbers, which the report's problems refer to), and the job's checked rows kept for
    its import are dropped: the import reads the cleaned file again."""
    address = canonical(subscriber.email)
    changed = 0
    for job in list(_jobs_naming(address)):
        codec, naming, lines = _import_lines(job, address)
        kept = "".join(
            ln[len(ln.rstrip("\r\n")) :] if names else ln
            for ln, names in zip(lines, naming, strict=True)
        )
        job.file = kept.encode(codec, errors="replace")
        job.errors = [p for p in job.errors or [] if not _problem_names(p, address)]
        job.save(update_fields=["file", "errors"])
        import_apply.discard_kept(job.pk)
        changed += 1
    return changed


def _mentions(text: str, address: str) -> bool:
    """Whether `text` holds the address as a whole address (not inside a longer one)."""
    return bool(re.search(rf"(?<![\w.!#$%&'*+/=?^`{{|}}~-]){re.escape(address)}(?![\w-])", text))


def admin_log_erase(subscriber) -> int:
    """Wagtail's log of staff edits names a subscriber by its address (its label), and
    the suppression rows and key account this erasure deletes by theirs; any other entry
    may hold it in its label or data. Run before those rows are deleted."""
    from django.contrib.contenttypes.models import ContentType
    from wagtail.models import ModelLogEntry

    address = canonical(subscriber.email)
    owned = Q()
    for model, pks in (
        (type(subscriber), [subscriber.pk]),
        (Suppression, Suppression.objects.filter(email__iexact=subscriber.email)),
        (KeyAccount, KeyAccount.objects.filter(subscriber=subscriber)),
    ):
        if not isinstance(pks, list):
            pks = list(pks.values_list("pk", flat=True))
        if pks:
            content_type = ContentType.objects.get_for_model(model)
            owned |= Q(content_type=content_type, object_id__in=[str(pk) for pk in pks])
    ids = set(ModelLogEntry.objects.filter(owned).values_list("pk", flat=True)) if owned else set()
    candidates = ModelLogEntry.objects.filter(
        Q(label__icontains=subscriber.email) | Q(data__icontains=subscriber.email)
    ).values_list("pk", "label", "data")
    for pk, label, data in candidates:
        text = canonical(f"{label} {json.dumps(data, ensure_ascii=False)}")
        if _mentions(text, address):
            ids.add(pk)
    return ModelLogEntry.objects.filter(pk__in=ids).update(label="—", data={})


class AudiencesRights:
    name = "audiences-rights"

    def timeline(self, subscriber, before, limit):
        return []

    def export(self, subscriber):
        return {
            "subscriptions": subscriptions_export(subscriber),
            "subscription_history": history_export(subscriber),
            "suppressions": suppressions_export(subscriber),
            "imports": imports_export(subscriber),
        }

    def erase(self, subscriber):
        admin_log_erase(subscriber)
        subscriptions_erase(subscriber)
        suppressions_erase(subscriber)
        imports_erase(subscriber)


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
    return blank_deliveries(Delivery.objects.filter(subscriber=subscriber))


def blank_deliveries(qs) -> int:
    """Unsent rows skipped, and every row's address and subscriber id taken out."""
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
    """The person's submissions: theirs, or answering with their address as a whole
    value (the icontains query only narrows the search: li@ is in wangli@)."""
    address = canonical(subscriber.email)
    mentioning = LeadSubmission.objects.filter(form_data__icontains=subscriber.email)
    pks = [
        pk
        for pk, data in mentioning.values_list("pk", "form_data")
        if isinstance(data, dict) and _names(_answers(data), address)
    ]
    return LeadSubmission.objects.filter(Q(subscriber=subscriber) | Q(pk__in=pks)).order_by("pk")


def _answers(data: dict) -> list:
    values = []
    for value in data.values():
        values += value if isinstance(value, list) else [value]
    return values


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
