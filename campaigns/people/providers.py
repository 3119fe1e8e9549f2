"""The customer record's providers for the tables that existed before it: audiences
(subscriptions with their consent, the suppression list), analytics events (each
message sent, delivered, opened, clicked, bounced, complained of, unsubscribed, and
conversions), landing-page form submissions, and staff notes.

Each `timeline` is one indexed query, newest first, ordered by (time, id) descending so
that entries at the same time always come in the same order (timeline.py's cursor
relies on it). Titles are translated when called (the request's language).
Export and erasure of these tables are the rights helper's (its "-rights" providers):
here they return nothing.
"""

from __future__ import annotations

import datetime

from django.db.models import Max
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from analytics.models import Event, TrackedLink
from campaigns.audiences.models import Subscription, Suppression
from campaigns.leads.models import LeadSubmission
from campaigns.models import Campaign, Publication

from .models import Note
from .registry import TimelineEntry

# Event kinds that are the company and the person in touch (last contact).
CONTACT_KINDS = ("send", "delivery", "open", "click", "unsubscribe", "complaint")


def _url(name: str, *args) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def _older(items, before, limit):
    """Entries (built in Python from a few rows) strictly older than `before`, newest
    first, at most `limit`; ties keep the order the rows were built in."""
    if before is not None:
        items = [e for e in items if e.at < before]
    return sorted(items, key=lambda e: e.at, reverse=True)[:limit]


class _NoRights:
    """Export and erasure live in the rights helper's providers (rights_data.py)."""

    def export(self, subscriber) -> dict[str, list[dict]]:
        return {}  # rights helper

    def erase(self, subscriber) -> None:
        return None  # rights helper


class AudiencesProvider(_NoRights):
    name = "audiences"

    def timeline(self, subscriber, before, limit):
        entries = []
        subscriptions = (
            Subscription.objects.filter(subscriber_id=subscriber.pk)
            .select_related("mailing_list")
            .order_by("-pk")
        )
        for s in subscriptions:
            named = {"list": s.mailing_list.name, "method": s.get_consent_method_display()}
            link = _url("mailinglist:edit", s.mailing_list_id)
            consent = s.consent_text or ""
            entries.append(
                TimelineEntry(
                    at=s.consent_at,
                    kind="audiences.subscribed",
                    title=_("Subscribed to %(list)s (%(method)s)") % named,
                    detail=consent,
                    url=link,
                    extra={"basis": s.consent_basis},
                )
            )
            if s.confirmed_at:
                entries.append(
                    TimelineEntry(
                        at=s.confirmed_at,
                        kind="audiences.confirmed",
                        title=_("Confirmed the subscription to %(list)s") % named,
                        url=link,
                    )
                )
            if s.unsubscribed_at:
                entries.append(
                    TimelineEntry(
                        at=s.unsubscribed_at,
                        kind="audiences.unsubscribed",
                        title=_("Unsubscribed from %(list)s") % named,
                        url=link,
                    )
                )
        # Tags are given when a person is added (import, form, API); no service changes a
        # person's tags afterwards, and every list change is a subscription above.
        tags = ", ".join(subscriber.tag_list)
        entries.append(
            TimelineEntry(
                at=subscriber.created_at,
                kind="audiences.added",
                title=_("Added to the audience, tagged %(tags)s") % {"tags": tags}
                if tags
                else _("Added to the audience"),
                url=_url("subscriber:edit", subscriber.pk),
            )
        )
        suppression = Suppression.objects.filter(email__iexact=subscriber.email).first()
        if suppression is not None:
            entries.append(
                TimelineEntry(
                    at=suppression.created_at,
                    kind="audiences.suppressed",
                    title=_("Put on the suppression list: %(reason)s")
                    % {"reason": suppression.get_reason_display()},
                    detail=suppression.detail,
                )
            )
        return _older(entries, before, limit)

    def last_contact(self, subscriber_ids) -> dict[int, datetime.datetime]:
        return {}


EVENT_TITLES = {
    "send": lambda: _("Sent: %(publication)s"),
    "delivery": lambda: _("Delivered: %(publication)s"),
    "open": lambda: _("Opened: %(publication)s"),
    "click": lambda: _("Clicked a link in %(publication)s"),
    "bounce": lambda: _("Bounced: %(publication)s"),
    "complaint": lambda: _("Marked as spam: %(publication)s"),
    "unsubscribe": lambda: _("Unsubscribed through %(publication)s"),
    "conversion": lambda: _("Reached a goal after %(publication)s"),
}


class EmailProvider(_NoRights):
    """Analytics events naming the person (Event.subscriber_id, partial index
    event_subscriber_idx): messages and what the person did with them."""

    name = "email"

    def timeline(self, subscriber, before, limit):
        qs = Event.objects.filter(subscriber_id=subscriber.pk)
        if before is not None:
            qs = qs.filter(occurred_at__lt=before)
        rows = list(
            qs.order_by("-occurred_at", "-id").values(
                "id",
                "kind",
                "occurred_at",
                "campaign_id",
                "publication_id",
                "link_id",
                "is_bot",
                "value_cents",
                "currency",
            )[:limit]
        )
        return entries_from_events(rows)

    def last_contact(self, subscriber_ids) -> dict[int, datetime.datetime]:
        rows = (
            Event.objects.filter(subscriber_id__in=list(subscriber_ids), kind__in=CONTACT_KINDS)
            .values("subscriber_id")
            .annotate(at=Max("occurred_at"))
        )
        return {r["subscriber_id"]: r["at"] for r in rows}


def entries_from_events(rows: list[dict]) -> list[TimelineEntry]:
    """Timeline entries for Event rows (as values() dicts), naming their campaign,
    publication and the clicked link: one query per table for the whole page."""
    campaigns = dict(
        Campaign.objects.filter(pk__in={r["campaign_id"] for r in rows}).values_list("pk", "name")
    )
    publications = {
        p.pk: p
        for p in Publication.objects.filter(pk__in={r["publication_id"] for r in rows})
        .select_related("page")
        .only("pk", "page__title")
    }
    links = dict(
        TrackedLink.objects.filter(pk__in={r["link_id"] for r in rows} - {0}).values_list(
            "pk", "original_url"
        )
    )
    entries = []
    for r in rows:
        publication = publications.get(r["publication_id"])
        pub_name = publication.page.title if publication and publication.page_id else ""
        campaign = campaigns.get(r["campaign_id"], "")
        title = EVENT_TITLES[r["kind"]]() if r["kind"] in EVENT_TITLES else r["kind"]
        title = title % {"publication": pub_name or campaign or _("a message")}
        detail = links.get(r["link_id"], "") if r["kind"] == "click" else ""
        if r["is_bot"]:
            detail = " ".join([detail, _("(by a machine, not counted)")]).strip()
        url = ""
        if publication is not None:
            url = _url("campaigns_admin:publication_edit", publication.pk)
        elif campaign:
            url = _url("campaigns_admin:detail", r["campaign_id"])
        entries.append(
            TimelineEntry(
                at=r["occurred_at"],
                kind=f"email.{r['kind']}",
                title=title,
                detail=detail,
                url=url,
                extra={"campaign": campaign, "link": links.get(r["link_id"], "")},
            )
        )
    return entries


class LeadsProvider(_NoRights):
    """Landing-page form submissions (the conversions they report are analytics
    events, shown by EmailProvider)."""

    name = "leads"

    def timeline(self, subscriber, before, limit):
        qs = LeadSubmission.objects.filter(subscriber_id=subscriber.pk).select_related("page")
        if before is not None:
            qs = qs.filter(submit_time__lt=before)
        entries = []
        for s in qs.order_by("-submit_time", "-id")[:limit]:
            answers = s.form_data if isinstance(s.form_data, dict) else {}
            detail = "; ".join(f"{k}: {v}" for k, v in answers.items() if v not in ("", None))
            entries.append(
                TimelineEntry(
                    at=s.submit_time,
                    kind="leads.submitted",
                    title=_("Sent the form %(page)s") % {"page": s.page.title},
                    detail=detail[:500],
                    url=_url("wagtailforms:list_submissions", s.page_id),
                )
            )
        return entries

    def last_contact(self, subscriber_ids) -> dict[int, datetime.datetime]:
        rows = (
            LeadSubmission.objects.filter(subscriber_id__in=list(subscriber_ids))
            .values("subscriber_id")
            .annotate(at=Max("submit_time"))
        )
        return {r["subscriber_id"]: r["at"] for r in rows}


class NotesProvider(_NoRights):
    name = "notes"

    def timeline(self, subscriber, before, limit):
        qs = Note.objects.filter(subscriber_id=subscriber.pk).select_related("author")
        if before is not None:
            qs = qs.filter(created_at__lt=before)
        entries = []
        for note in qs.order_by("-created_at", "-id")[:limit]:
            author = (
                note.author.get_full_name() or note.author.get_username() if note.author else ""
            )
            entries.append(
                TimelineEntry(
                    at=note.created_at,
                    kind="notes.note",
                    title=_("Note by %(author)s") % {"author": author or _("a former user")},
                    detail=note.text,
                )
            )
        return entries

    def last_contact(self, subscriber_ids) -> dict[int, datetime.datetime]:
        rows = (
            Note.objects.filter(subscriber_id__in=list(subscriber_ids))
            .values("subscriber_id")
            .annotate(at=Max("created_at"))
        )
        return {r["subscriber_id"]: r["at"] for r in rows}


def all_providers():
    return [AudiencesProvider(), EmailProvider(), LeadsProvider(), NotesProvider()]
