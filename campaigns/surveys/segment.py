"""The segment builder's "Survey answer" condition: the detractors, passives or
promoters of an NPS survey, or the low scorers of a SERVQUAL survey (their own
unweighted gap below -1), for a follow-up send. Registered in apps.py."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from wagtail.models import Page

from campaigns.audiences.segments import ExtraField

from .models import NpsSurveyPage, ServqualSurveyPage, SurveyResponse

LOW_GAP = -1.0
OPS = [
    ("nps_detractor", _("NPS detractor (0-6)")),
    ("nps_passive", _("NPS passive (7-8)")),
    ("nps_promoter", _("NPS promoter (9-10)")),
    ("servqual_low", _("SERVQUAL gap below -1 (low score)")),
]
_ANSWER = {
    "nps_detractor": Q(score__lte=6),
    "nps_passive": Q(score__gte=7, score__lte=8),
    "nps_promoter": Q(score__gte=9),
    "servqual_low": Q(gap__lt=LOW_GAP),
}


def survey_choices() -> list[tuple[str, str]]:
    pages = Page.objects.type(NpsSurveyPage, ServqualSurveyPage).order_by("title")
    return [(str(page.pk), page.title) for page in pages]


def condition(rule: dict) -> Q:
    responses = SurveyResponse.objects.filter(
        _ANSWER[rule["op"]], page_id=int(rule["value"]), subscriber__isnull=False
    )
    return Q(pk__in=responses.values("subscriber_id"))


def survey_field() -> ExtraField:
    return ExtraField(
        code="survey",
        label=_("Survey answer"),
        ops=OPS,
        condition=condition,
        choices=survey_choices,
        value_label=_("Survey"),
    )
