"""A landing page's form for readers: on the hub (the page's own URL, through Wagtail's
serve and our `on_serve_page` hook) and embedded in other sites' pages (an iframe of
/forms/<id>/embed/, or the script tag /forms/<id>/embed.js that writes that iframe).

A post is limited per client (campaigns.audiences.limits, the public forms' limit): over
it, the form comes back with status 429, everything typed kept and a message saying when
to try again. A post with errors comes back with every answer kept and each error next
to its field. Only the embedded variant may be framed by other sites (xframe exempt, so
config.security's CSP says CSP_EMBED_FRAME_ANCESTORS); the hub page stays DENY. Like the
audiences' embeddable subscribe form it is CSRF-exempt: a third-party frame sends no
cookie, and the form acts on no session or account.
"""

import json
import logging
import math

from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import ngettext
from django.views.decorators.cache import cache_control
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from wagtail.models import Page

from campaigns.audiences import limits
from campaigns.audiences.services import absolute_url, hash_ip

from . import services
from .forms import add_subscribe_box
from .models import LandingPage
from .tasks import subscribe_lead

logger = logging.getLogger(__name__)
LIMIT_NAME = "landing"
EMBED_TEMPLATE = "leads/landing_page_embed.html"


def _subscribe(submission_id: int, ip_hash: str) -> None:
    """Hand the opt-in to a worker; with the broker unreachable, subscribe here rather
    than lose the person."""
    try:
        subscribe_lead.delay(submission_id, ip_hash)
    except Exception:  # noqa: BLE001 - kombu and redis raise their own connection errors
        logger.warning("broker unreachable: subscribing in the web process", exc_info=True)
        subscribe_lead(submission_id, ip_hash)


def build_form(page: LandingPage, data=None):
    form = page.get_form(data, page=page, user=None)
    has_email = any(f.field_type == "email" for f in page.get_form_fields())
    if page.mailing_list_id and has_email:
        add_subscribe_box(form, page.mailing_list)
    return form


def serve_landing_page(page: LandingPage, request, *, embed: bool):
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponseNotAllowed(["GET", "HEAD", "POST"])
    posted = request.method == "POST"
    form = build_form(page, request.POST if posted else None)
    context = page.get_context(request)
    context.update(form=form, embed=embed, limit_error="")
    template = EMBED_TEMPLATE if embed else page.get_template(request)
    if posted:
        retry_after = limits.over_limit(LIMIT_NAME, request)
        if retry_after:
            minutes = max(1, math.ceil(retry_after / 60))
            context["limit_error"] = ngettext(
                "Too many attempts from your network. Please try again in %(n)s minute.",
                "Too many attempts from your network. Please try again in %(n)s minutes.",
                minutes,
            ) % {"n": minutes}
            response = TemplateResponse(request, template, context, status=429)
            response["Retry-After"] = str(retry_after)
            return response
        if form.is_valid():
            return _thank(page, request, form, context, embed)
    # Errors come back as 200, every answer kept (as Django's forms do).
    return TemplateResponse(request, template, context)


def _thank(page: LandingPage, request, form, context: dict, embed: bool):
    submission = services.submit(page, form, request=request, embedded=embed)
    if submission.subscribe_requested:
        _subscribe(submission.pk, hash_ip(limits.client_ip(request)))
    thank_you = page.thank_you_page
    # A thank-you page is a hub page, not framable: an embedded form thanks in place.
    if thank_you is not None and thank_you.live and not embed:
        return redirect(thank_you.get_url(request) or "/")
    context.update(form_submission=submission, form=None)
    return TemplateResponse(
        request, EMBED_TEMPLATE if embed else page.get_landing_page_template(request), context
    )


def _embeddable_page(page_id: int) -> LandingPage:
    page = Page.objects.live().public().filter(pk=page_id).type(LandingPage).first()
    if page is None:
        raise Http404
    return page.specific


@csrf_exempt
@xframe_options_exempt
def embedded_form(request, page_id: int):
    page = _embeddable_page(page_id)
    return serve_landing_page(page, request, embed=True)


@cache_control(public=True, max_age=300)
def embed_script(request, page_id: int):
    """A small script for other sites: it writes the embedded form's iframe right after
    its own <script> tag (height from the tag's data-height, 640 pixels by default)."""
    page = _embeddable_page(page_id)
    src = absolute_url(reverse("leads:embed", args=[page.pk]))
    script = (
        "(function(){var s=document.currentScript;if(!s)return;"
        "var f=document.createElement('iframe');"
        f"f.src={json.dumps(src)};f.title={json.dumps(page.title)};"
        "f.loading='lazy';f.style.width='100%';f.style.border='0';"
        "f.height=String(parseInt(s.getAttribute('data-height'),10)||640);"
        "s.parentNode.insertBefore(f,s.nextSibling);})();\n"
    )
    return HttpResponse(script, content_type="text/javascript; charset=utf-8")
