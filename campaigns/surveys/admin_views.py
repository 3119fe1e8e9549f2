"""The results screen of one survey page (admin): NPS or SERVQUAL gap scores, filtered
by campaign and by segment, and the CSV of the answers."""

from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from wagtail.models import Page

from campaigns.audiences.models import Segment

from . import results
from .models import NPS, SERVQUAL, NpsSurveyPage, ServqualSurveyPage

RESULTS_PERMISSION = "surveys.view_surveyresponse"


def _filters(request):
    campaign = request.GET.get("campaign", "")
    campaign_id = int(campaign) if campaign.isdigit() else None
    segment_raw = request.GET.get("segment", "")
    segment = Segment.objects.filter(pk=int(segment_raw)).first() if segment_raw.isdigit() else None
    return campaign_id, segment


def _page(page_id):
    page = Page.objects.filter(pk=page_id).first()
    page = page.specific if page else None
    if page is None or getattr(page, "survey_kind", "") not in (NPS, SERVQUAL):
        raise Http404
    return page


def survey_index(request):
    """Every survey page, with its number of answers: the way in from the menu."""
    if not request.user.has_perm(RESULTS_PERMISSION):
        raise PermissionDenied
    pages = (
        Page.objects.type(NpsSurveyPage, ServqualSurveyPage)
        .select_related("content_type")
        .annotate(answers=Count("survey_responses"))
        .order_by("-latest_revision_created_at", "title")
    )
    return render(
        request, "surveys/admin/index.html", {"pages": pages, "title": _("Survey results")}
    )


def survey_results(request, page_id):
    if not request.user.has_perm(RESULTS_PERMISSION):
        raise PermissionDenied
    page = _page(page_id)
    campaign_id, segment = _filters(request)
    if request.GET.get("format") == "csv":
        response = HttpResponse(
            results.csv_text(page, campaign_id=campaign_id, segment=segment),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="survey-{page.pk}.csv"'
        return response
    return render(
        request,
        "surveys/admin/results.html",
        {
            "page": page,
            "summary": results.summary(page, campaign_id=campaign_id, segment=segment),
            "campaigns": results.campaigns_of(page),
            "segments": Segment.objects.order_by("name"),
            "campaign_id": campaign_id,
            "segment": segment,
            "query": request.GET.urlencode(),
            "title": _("Results: %(title)s") % {"title": page.title},
        },
    )
