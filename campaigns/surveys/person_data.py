"""What the surveys hold about one person, for the customer record
(campaigns.people.registry): the timeline's "answered" entries, the export of the
answers, and erasure (the answers stay as anonymous scores so results keep their
totals; the person's link and the comments they wrote are removed)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from campaigns.people.registry import TimelineEntry, latest_per_person

from .models import NPS, SurveyResponse
from .scoring import nps_category


def _category_label(score: int) -> str:
    return {
        "promoter": _("promoter"),
        "passive": _("passive"),
        "detractor": _("detractor"),
    }[nps_category(score)]


class SurveyData:
    name = "surveys"

    def timeline(self, subscriber, before, limit):
        qs = SurveyResponse.objects.filter(subscriber=subscriber).select_related("page")
        if before is not None:
            qs = qs.filter(answered_at__lt=before)
        entries = []
        for r in qs.order_by("-answered_at", "-pk")[:limit]:
            url = reverse("surveys_admin:results", args=[r.page_id])
            if r.kind == NPS:
                title = _("Answered NPS survey %(title)s: %(score)s (%(category)s)") % {
                    "title": r.page.title,
                    "score": r.score,
                    "category": _category_label(r.score),
                }
                extra = {"score": r.score, "category": nps_category(r.score)}
            else:
                gap = "" if r.gap is None else f"{r.gap:+.2f}"
                title = _("Answered SERVQUAL survey %(title)s: gap %(gap)s") % {
                    "title": r.page.title,
                    "gap": gap,
                }
                extra = {"gap": r.gap}
            entries.append(
                TimelineEntry(
                    at=r.answered_at,
                    kind="survey.answered",
                    title=title,
                    detail=r.comment,
                    url=url,
                    extra=extra,
                )
            )
        return entries

    def export(self, subscriber):
        rows = []
        for r in SurveyResponse.objects.filter(subscriber=subscriber).select_related("page"):
            rows.append(
                {
                    "survey": r.page.title,
                    "survey_id": r.page_id,
                    "kind": r.kind,
                    "publication_id": r.publication_id,
                    "campaign_id": r.campaign_id,
                    "score": r.score,
                    "answers": r.answers,
                    "gap": r.gap,
                    "comment": r.comment,
                    "answered_at": r.answered_at.isoformat(),
                }
            )
        return {"survey_answers": rows} if rows else {}

    def erase(self, subscriber):
        SurveyResponse.objects.filter(subscriber=subscriber).update(subscriber=None, comment="")

    def last_contact(self, subscriber_ids):
        answers = SurveyResponse.objects.filter(subscriber_id__in=list(subscriber_ids))
        return latest_per_person(answers, "answered_at")
