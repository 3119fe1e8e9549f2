"""The feedback form for readers, on the hub (the page's own URL, through Wagtail's
serve and our on_serve_page hook) and embedded in other sites' pages (an iframe of
/feedback/<id>/embed/), and the person's status page (/feedback/status/<token>/).

Like the landing pages: a post is limited per client (campaigns.audiences.limits), an
invalid post comes back with everything typed kept, only the embedded form may be
framed (xframe exempt; the hub page stays DENY) and it is CSRF-exempt (a third-party
frame sends no cookie; the form acts on no session). Pages are rendered in the form's
language; the status page in the case's.
"""

import math

from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import translation
from django.utils.translation import ngettext
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from wagtail.models import Page

from campaigns.audiences import limits

from . import services
from .forms import FeedbackForm, PersonMessageForm
from .models import FeedbackPage

LIMIT_NAME = "feedback"
EMBED_TEMPLATE = "feedback/feedback_embed.html"


def _limited(request, template, context):
    retry_after = limits.over_limit(LIMIT_NAME, request)
    if not retry_after:
        return None
    minutes = max(1, math.ceil(retry_after / 60))
    context["limit_error"] = ngettext(
        "Too many attempts from your network. Please try again in %(n)s minute.",
        "Too many attempts from your network. Please try again in %(n)s minutes.",
        minutes,
    ) % {"n": minutes}
    response = TemplateResponse(request, template, context, status=429)
    response["Retry-After"] = str(retry_after)
    return response


def serve_feedback_page(page: FeedbackPage, request, *, embed: bool):
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponseNotAllowed(["GET", "HEAD", "POST"])
    with translation.override(page.language):
        posted = request.method == "POST"
        form = FeedbackForm(request.POST if posted else None, categories=page.categories())
        context = page.get_context(request)
        context.update(form=form, embed=embed, limit_error="", case=None)
        template = EMBED_TEMPLATE if embed else page.get_template(request)
        if posted:
            limited = _limited(request, template, context)
            if limited is not None:
                return limited.render()
            if form.is_valid():
                case = services.open_case(
                    page, form.cleaned_data, language=page.language, embedded=embed
                )
                context.update(case=case, form=None)
        return TemplateResponse(request, template, context).render()


def _embeddable_page(page_id: int) -> FeedbackPage:
    page = Page.objects.live().public().filter(pk=page_id).type(FeedbackPage).first()
    if page is None:
        raise Http404
    return page.specific


@csrf_exempt
@xframe_options_exempt
def embedded_form(request, page_id: int):
    return serve_feedback_page(_embeddable_page(page_id), request, embed=True)


def status_page(request, token: str):
    """Where the case stands, the public thread, and a form to write again. The signed
    token is the only key: no login."""
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponseNotAllowed(["GET", "HEAD", "POST"])
    try:
        case = services.case_for_token(token)
    except services.CaseError:
        raise Http404 from None
    with translation.override(case.language):
        posted = request.method == "POST"
        form = PersonMessageForm(request.POST if posted else None)
        context = {"case": case, "form": form, "limit_error": "", "error": ""}
        template = "feedback/status.html"
        if posted:
            limited = _limited(request, template, context)
            if limited is not None:
                context["thread"] = services.public_thread(case)
                return limited.render()
            if form.is_valid():
                try:
                    services.add_person_message(case, form.cleaned_data["message"])
                except services.CaseError as exc:
                    context["error"] = str(exc)
                else:
                    return redirect(request.path + "?sent=1")
        context["thread"] = services.public_thread(case)
        context["sent"] = request.GET.get("sent") == "1"
        return TemplateResponse(request, template, context).render()
