"""Reading the answers of one survey page: per campaign and per segment, and as CSV.

Erased people's answers (subscriber NULL) count in the totals and drop out of a
segment's figures (nobody is left to be in a segment)."""

from __future__ import annotations

import csv
import io

from django.db.models import QuerySet

from campaigns.audiences.models import Segment
from campaigns.audiences.services import segment_audience

from .models import NPS, SurveyResponse
from .scoring import nps_category, nps_summary, servqual_summary


def answers(page, *, campaign_id=None, segment: Segment | None = None) -> QuerySet:
    qs = SurveyResponse.objects.filter(page_id=page.pk)
    if campaign_id:
        qs = qs.filter(campaign_id=campaign_id)
    if segment is not None:
        qs = qs.filter(subscriber_id__in=segment_audience(segment).values("pk"))
    return qs


def summary(page, *, campaign_id=None, segment: Segment | None = None) -> dict:
    qs = answers(page, campaign_id=campaign_id, segment=segment)
    if page.survey_kind == NPS:
        return {"kind": NPS, **nps_summary(qs.values_list("score", flat=True))}
    return {
        "kind": page.survey_kind,
        **servqual_summary(page.survey_items(), qs.values_list("answers", flat=True)),
    }


def campaigns_of(page) -> list[tuple[int, str]]:
    rows = (
        SurveyResponse.objects.filter(page_id=page.pk, campaign__isnull=False)
        .values_list("campaign_id", "campaign__name")
        .distinct()
        .order_by("campaign__name")
    )
    return list(rows)


def csv_text(page, *, campaign_id=None, segment: Segment | None = None) -> str:
    """One row per answer: when, campaign, subscriber's address (empty once erased),
    the score or each item's two ratings, the comment."""
    out = io.StringIO()
    writer = csv.writer(out)
    qs = answers(page, campaign_id=campaign_id, segment=segment).select_related(
        "campaign", "subscriber"
    )
    if page.survey_kind == NPS:
        writer.writerow(["answered_at", "campaign", "email", "score", "category", "comment"])
        for r in qs.order_by("answered_at", "pk"):
            writer.writerow(
                [
                    r.answered_at.isoformat(),
                    r.campaign.name if r.campaign else "",
                    r.subscriber.email if r.subscriber else "",
                    r.score,
                    nps_category(r.score) if r.score is not None else "",
                    _safe(r.comment),
                ]
            )
        return out.getvalue()
    items = page.survey_items()
    header = ["answered_at", "campaign", "email", "gap"]
    for n, item in enumerate(items, 1):
        header += [f"{item['dimension']}_{n}_expectation", f"{item['dimension']}_{n}_perception"]
    writer.writerow([*header, "comment"])
    for r in qs.order_by("answered_at", "pk"):
        row = [
            r.answered_at.isoformat(),
            r.campaign.name if r.campaign else "",
            r.subscriber.email if r.subscriber else "",
            "" if r.gap is None else round(r.gap, 3),
        ]
        for item in items:
            row += [
                r.answers.get("e", {}).get(item["id"], ""),
                r.answers.get("p", {}).get(item["id"], ""),
            ]
        writer.writerow([*row, _safe(r.comment)])
    return out.getvalue()


def _safe(text: str) -> str:
    """A cell a spreadsheet will not run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
