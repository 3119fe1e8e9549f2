"""What the feedback inbox holds about a person, for the customer record
(campaigns.people.registry): the timeline (case opened, staff replies, status changes,
escalation), open cases and last contact for the key-account panel, the person's copy
(export) and erasure.

Erasure blanks the person's contact details on every case and the text of the
messages they wrote, and unlinks the subscriber; the cases stay (with category, status
and times) so the inbox's counts and due-time figures keep their totals, anonymously.
Staff replies are kept (company text, addressed to nobody once the details are gone)
unless they quote the person: they are blanked too, since a reply often does.
"""

from __future__ import annotations

from django.db.models import Count, Q
from django.urls import reverse
from django.utils.translation import gettext as _

from campaigns.people.registry import TimelineEntry, latest_per_person

from .models import Case, CaseEntry

TIMELINE_KINDS = {
    CaseEntry.Kind.REPLY: "feedback.reply",
    CaseEntry.Kind.STATUS: "feedback.status",
    CaseEntry.Kind.ESCALATED: "feedback.escalated",
}


def _iso(value):
    return value.isoformat() if value else None


class FeedbackData:
    name = "feedback"

    def timeline(self, subscriber, before, limit: int) -> list[TimelineEntry]:
        opened = Case.objects.filter(subscriber=subscriber)
        entries = CaseEntry.objects.filter(
            case__subscriber=subscriber, kind__in=list(TIMELINE_KINDS)
        ).select_related("case")
        if before is not None:
            opened = opened.filter(opened_at__lt=before)
            entries = entries.filter(created_at__lt=before)
        rows = []
        for case in opened.order_by("-opened_at", "-pk")[:limit]:
            rows.append(
                TimelineEntry(
                    at=case.opened_at,
                    kind="feedback.case_opened",
                    title=_("Feedback case %(reference)s opened: %(category)s")
                    % {"reference": case.reference, "category": case.get_category_display()},
                    detail=case.subject,
                    url=reverse("feedback_admin:case", args=[case.pk]),
                    extra={"status": case.status},
                )
            )
        for entry in entries.order_by("-created_at", "-pk")[:limit]:
            rows.append(self._entry(entry))
        # Newest first; at equal times (a reply and the status change it makes share
        # one) a case's opening before its entries, each newest id first: the same
        # order on every call, which the timeline's cursor relies on.
        rows.sort(key=lambda r: r.at, reverse=True)  # stable
        return rows[:limit]

    def _entry(self, entry: CaseEntry) -> TimelineEntry:
        ref = entry.case.reference
        if entry.kind == CaseEntry.Kind.REPLY:
            title = _("Reply to feedback case %(reference)s") % {"reference": ref}
            detail = entry.body[:200]
        elif entry.kind == CaseEntry.Kind.STATUS:
            title = _("Feedback case %(reference)s: %(status)s") % {
                "reference": ref,
                "status": entry.status_label,
            }
            detail = ""
        else:
            title = _("Feedback case %(reference)s escalated (overdue)") % {"reference": ref}
            detail = ""
        return TimelineEntry(
            at=entry.created_at,
            kind=TIMELINE_KINDS[entry.kind],
            title=title,
            detail=detail,
            url=reverse("feedback_admin:case", args=[entry.case_id]),
        )

    def open_cases(self, subscriber_ids) -> dict[int, int]:
        rows = (
            Case.objects.filter(subscriber_id__in=list(subscriber_ids), status__in=Case.UNRESOLVED)
            .values("subscriber_id")
            .annotate(n=Count("pk"))
        )
        return {r["subscriber_id"]: r["n"] for r in rows}

    def last_contact(self, subscriber_ids) -> dict:
        replies = CaseEntry.objects.filter(
            case__subscriber_id__in=list(subscriber_ids), kind=CaseEntry.Kind.REPLY
        )
        return latest_per_person(replies, "created_at", "case__subscriber_id")

    def export(self, subscriber) -> dict[str, list[dict]]:
        cases = list(Case.objects.filter(subscriber=subscriber).order_by("opened_at"))
        entries = CaseEntry.objects.filter(
            case__in=cases, kind__in=list(CaseEntry.PUBLIC)
        ).order_by("created_at", "pk")
        return {
            "feedback_cases": [
                {
                    "reference": c.reference,
                    "category": c.category,
                    "status": c.status,
                    "name": c.name,
                    "email": c.email,
                    "phone": c.phone,
                    "subject": c.subject,
                    "order_reference": c.order_reference,
                    "language": c.language,
                    "opened_at": _iso(c.opened_at),
                    "due_at": _iso(c.due_at),
                    "resolved_at": _iso(c.resolved_at),
                }
                for c in cases
            ],
            "feedback_messages": [
                {
                    "case": e.case.reference,
                    "kind": e.kind,
                    "text": e.body,
                    "status": (e.data or {}).get("to", ""),
                    "at": _iso(e.created_at),
                }
                for e in entries.select_related("case")
            ],
        }

    def erase(self, subscriber) -> None:
        cases = Case.objects.filter(Q(subscriber=subscriber) | Q(email__iexact=subscriber.email))
        ids = list(cases.values_list("pk", flat=True))
        CaseEntry.objects.filter(
            case_id__in=ids,
            kind__in=[CaseEntry.Kind.MESSAGE, CaseEntry.Kind.REPLY, CaseEntry.Kind.NOTE],
        ).update(body="")
        Case.objects.filter(pk__in=ids).update(
            subscriber=None,
            name="",
            email="",
            phone="",
            subject="",
            order_reference="",
            erased=True,
        )
