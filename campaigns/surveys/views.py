"""The recipients' side: the answer page a survey's email links to.

/surveys/<page id>/answer/?m=<message token>[&score=N]: the token (passed on by the
tracked redirect) names the recipient; no login. An NPS score link opens the form with
that score chosen and the follow-up question: a GET records nothing (mail scanners open
every link), the answer is recorded by the form's POST (CSRF-checked). A SERVQUAL link
opens its form. Anything the token does not allow gets a plain page saying why (403)."""

from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from wagtail.models import Page

from . import services
from .defaults import DIMENSIONS
from .models import LIKERT_MAX, LIKERT_MIN, NPS, SERVQUAL


def _survey(page_id):
    page = Page.objects.live().filter(pk=page_id).first()
    page = page.specific if page else None
    if page is None or getattr(page, "survey_kind", "") not in (NPS, SERVQUAL):
        raise Http404
    return page


def _render(request, page, template, status=200, **context):
    return render(request, template, {"page": page, "self": page, **context}, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def answer(request, page_id):
    page = _survey(page_id)
    token = (request.POST.get("m") or request.GET.get("m") or "")[:450]
    try:
        recipient = services.recipient_for(page, token)
    except services.TokenRefused as refused:
        return _render(request, page, "surveys/refused.html", status=403, reason=refused.reason)
    if page.survey_kind == NPS:
        return _answer_nps(request, page, recipient, token)
    return _answer_servqual(request, page, recipient, token)


def _score(raw) -> int | None:
    raw = str(raw or "")
    return int(raw) if raw.isascii() and raw.isdigit() and 0 <= int(raw) <= 10 else None


def _answer_nps(request, page, recipient, token):
    existing = services.existing_answer(page, recipient)
    if request.method == "POST":
        comment = request.POST.get("comment", "")
        if existing is not None and "score" not in request.POST:
            # A follow-up form served before scores moved into the form.
            services.add_comment(page, recipient, comment)
            return _render(request, page, "surveys/thanks.html")
        score = _score(request.POST.get("score"))
        if score is not None:
            created = services.record_nps(page, recipient, score, comment)
            if created is None:
                return _render(request, page, "surveys/already.html")
            return _render(request, page, "surveys/thanks.html")
    if existing:
        return _render(request, page, "surveys/already.html", answer=existing)
    error = request.method == "POST"
    return _render(
        request,
        page,
        "surveys/nps_answer.html",
        token=token,
        error=error,
        score=_score(request.POST.get("score") if error else request.GET.get("score")),
        comment=request.POST.get("comment", "")[: services.MAX_COMMENT] if error else "",
        scale=range(11),
        status=400 if error else 200,
    )


def _answer_servqual(request, page, recipient, token):
    existing = services.existing_answer(page, recipient)
    if existing:
        return _render(request, page, "surveys/already.html", answer=existing)
    error = False
    if request.method == "POST":
        try:
            answers = services.clean_servqual(page, request.POST)
        except ValueError:
            error = True
        else:
            created = services.record_servqual(
                page, recipient, answers, request.POST.get("comment", "")
            )
            if created is None:
                return _render(request, page, "surveys/already.html")
            return _render(request, page, "surveys/thanks.html")
    return _render(
        request,
        page,
        "surveys/servqual_answer.html",
        token=token,
        error=error,
        rows=_rows(page, request.POST),
        scale=range(LIKERT_MIN, LIKERT_MAX + 1),
        status=400 if error else 200,
    )


def _rows(page, posted) -> list[dict]:
    """Each item's two statements with the radio names and what was posted before."""
    labels = dict(DIMENSIONS)

    def value(name):
        raw = str(posted.get(name, ""))
        return int(raw) if raw.isdigit() else None

    rows = []
    for item in page.survey_items():
        rows.append(
            {
                "dimension": labels.get(item["dimension"], item["dimension"]),
                "sides": [
                    {
                        "name": f"{side}_{item['id']}",
                        "label": label,
                        "text": item[key],
                        "value": value(f"{side}_{item['id']}"),
                    }
                    for side, key, label in (
                        ("e", "expectation", _("Expected")),
                        ("p", "perception", _("Perceived")),
                    )
                ],
            }
        )
    return rows
