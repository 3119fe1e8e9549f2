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

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from analytics.models import Event, TrackedLink
from campaigns.audiences.models import AudienceChange, Subscription, Suppression
from campaigns.leads.models import LeadSubmission
from campaigns.models import Campaign, Publication
from campaigns.notifications import display_name

from .models import Note
from .registry import TimelineEntry, latest_per_person

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
    """The change log (AudienceChange: one indexed query, newest first) and, for what
    happened before the log existed, entries made up from the Subscription rows no log
    entry covers, the person's creation and a suppression the log does not hold."""

    name = "audiences"

    def timeline(self, subscriber, before, limit):
        qs = AudienceChange.objects.filter(subscriber_id=subscriber.pk)
        if before is not None:
            qs = qs.filter(at__lt=before)
        logged = list(qs.select_related("mailing_list").order_by("-at", "-id")[:limit])
        entries = [_change_entry(c) for c in logged]
        covered = set(
            AudienceChange.objects.filter(subscriber_id=subscriber.pk)
            .values_list("kind", "mailing_list_id")
            .distinct()
        )
        entries += self._synthesised(subscriber, covered)
        return _older(entries, before, limit)

    def _synthesised(self, subscriber, covered):
        entries = []
        logged_lists = {list_id for _kind, list_id in covered if list_id}
        subscriptions = (
            Subscription.objects.filter(subscriber_id=subscriber.pk)
            .exclude(mailing_list_id__in=logged_lists)
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
        # The tags a person was created with (later changes are in the log).
        retagged = {k for k, _list in covered} & {"tags_added", "tags_removed"}
        tags = "" if retagged else ", ".join(subscriber.tag_list)
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
        if suppression is not None and (AudienceChange.Kind.SUPPRESSED, None) not in covered:
            entries.append(
                TimelineEntry(
                    at=suppression.created_at,
                    kind="audiences.suppressed",
                    title=_("Put on the suppression list: %(reason)s")
                    % {"reason": suppression.get_reason_display()},
                    detail=suppression.detail,
                )
            )
        return entries

    def last_contact(self, subscriber_ids) -> dict[int, datetime.datetime]:
        return {}


CHANGE_TITLES = {
    "subscribed": lambda: _("Subscribed to %(list)s (%(how)s)"),
    "resubscribed": lambda: _("Subscribed again to %(list)s (%(how)s)"),
    "confirmed": lambda: _("Confirmed the subscription to %(list)s"),
    "unsubscribed": lambda: _("Unsubscribed from %(list)s"),
    "tags_added": lambda: _("Tags added: %(tags)s"),
    "tags_removed": lambda: _("Tags removed: %(tags)s"),
    "suppressed": lambda: _("Put on the suppression list: %(reason)s"),
    "unsuppressed": lambda: _("Taken off the suppression list"),
}
SOURCES = {
    "admin": lambda: _("added by staff"),
    "form": lambda: _("form"),
    "import": lambda: _("import"),
    "api": lambda: _("API"),
    "landing page": lambda: _("landing page"),
    "preferences": lambda: _("preference centre"),
}


def _change_entry(change: AudienceChange) -> TimelineEntry:
    detail = change.detail if isinstance(change.detail, dict) else {}
    source = str(detail.get("source") or "")
    how = SOURCES[source]() if source in SOURCES else source
    if detail.get("import"):
        how = _("import #%(id)s") % {"id": detail["import"]}
    consent = str(detail.get("consent_text") or "")
    if consent:
        shown = consent if len(consent) <= 60 else consent[:59] + "…"
        how = _("%(source)s, consent text “%(text)s”") % {"source": how, "text": shown}
    reason = str(detail.get("reason") or "")
    named = {
        "list": change.mailing_list.name if change.mailing_list else _("a deleted list"),
        "how": how or _("unknown source"),
        "tags": ", ".join(str(t) for t in detail.get("tags") or []),
        "reason": dict(Suppression.Reason.choices).get(reason, reason),
    }
    title = CHANGE_TITLES[change.kind]() if change.kind in CHANGE_TITLES else change.kind
    return TimelineEntry(
        at=change.at,
        kind=f"audiences.{change.kind}",
        title=title % named,
        detail=consent if len(consent) > 60 else str(detail.get("basis") or ""),
        url=_url("mailinglist:edit", change.mailing_list_id) if change.mailing_list_id else "",
        extra={"source": source, "import": detail.get("import")},
    )


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
        events = Event.objects.filter(
            subscriber_id__in=list(subscriber_ids), kind__in=CONTACT_KINDS
        )
        return latest_per_person(events, "occurred_at")


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
        submissions = LeadSubmission.objects.filter(subscriber_id__in=list(subscriber_ids))
        return latest_per_person(submissions, "submit_time")


class NotesProvider(_NoRights):
    name = "notes"

    def timeline(self, subscriber, before, limit):
        qs = Note.objects.filter(subscriber_id=subscriber.pk).select_related("author")
        if before is not None:
            qs = qs.filter(created_at__lt=before)
        entries = []
        for note in qs.order_by("-created_at", "-id")[:limit]:
            author = display_name(note.author) if note.author else ""
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
        notes = Note.objects.filter(subscriber_id__in=list(subscriber_ids))
        return latest_per_person(notes, "created_at")


def all_providers():
    return [AudiencesProvider(), EmailProvider(), LeadsProvider(), NotesProvider()]
