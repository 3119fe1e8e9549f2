"""Public tracking endpoints: the redirect, the open pixel and the page-view beacon.

Each records through pusher.enqueue_event (one Redis RPUSH written before the
response, its reply read after the response went out), never waiting on the database
when Redis is configured. Importing this module brings in the pusher (analytics.pusher),
so only a process that serves these views carries it.
"""

import base64
import json

from django.conf import settings
from django.http import HttpResponse, HttpResponseNotFound
from django.template.loader import render_to_string
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .click_carry import click_cookie_of, remember_click, with_click_param, with_message_param
from .conversions import KEY_RE, any_external_goal, carries_click_id, record_external
from .link_cache import resolve_link_attribution, resolve_link_code
from .pusher import enqueue_event
from .visitors import request_event
from .visits import is_own_site, remember_visit, visit_cookie_of

# The smallest transparent GIF.
PIXEL_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _not_found():
    # Plain and cheap: no template, nothing of the request echoed back.
    return HttpResponseNotFound(b"Not found", content_type="text/plain")


@require_http_methods(["GET", "HEAD"])
def redirect_link(request, code):
    """302 to the stored destination of `code`; anything else is a plain 404. The
    destination comes only from the database, never from the request. A campaign's link
    to our own site also sets the visit cookie (analytics.visits)."""
    link = resolve_link_code(code)
    if link is None:
        return _not_found()
    link_id, destination = link
    # Most clicks carry no query string: skip building a QueryDict for nothing.
    message = request.GET.get("m", "")[:400] if request.META.get("QUERY_STRING") else ""
    # The click is on its way to Redis (or stored) before the 302 exists, and its reply
    # is read before this worker takes another request: an acknowledged click is never
    # lost.
    # The campaign this visitor came to the hub through, if any: the drainer adds it to
    # clicks on hub links (analytics.visits; checked there, not on this path).
    click = request_event(request, "click", l=link_id, m=message, ca=visit_cookie_of(request))
    enqueue_event(click, confirm_after_response=True)
    response = HttpResponse(status=302)
    response["Location"] = destination
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer-when-downgrade"
    response["X-Robots-Tag"] = "noindex"
    if is_own_site(destination):
        # A campaign's link to one of our pages: remember the campaign for the clicks
        # this visitor makes there, and the click for a conversion there
        # (analytics.click_carry). Off-site destinations (most clicks) skip this.
        campaign_id, publication_id = resolve_link_attribution(code)
        # A page that answers for one recipient (a survey's answer link) gets the
        # message token the click carried; every other page never sees it.
        carried = with_message_param(destination, message) if message else None
        if carried:
            response["Location"] = carried
        if campaign_id:
            remember_visit(response, request, campaign_id, publication_id)
            remember_click(response, request, click["u"])
    elif any_external_goal() and carries_click_id(resolve_link_attribution(code)[0], destination):
        # The campaign has a goal on the company's own site: the goal's script there
        # sends the click id back with the conversion.
        response["Location"] = with_click_param(destination, click["u"])
    return response


@require_http_methods(["GET", "HEAD"])
def open_pixel(request, token):
    """The 1x1 open-tracking GIF. Always answers the image; only a valid token (checked
    by the drainer) records an open."""
    if len(token) <= 450:
        enqueue_event(request_event(request, "open", m=token), confirm_after_response=True)
    response = HttpResponse(PIXEL_GIF, content_type="image/gif")
    response["Cache-Control"] = "no-store, no-cache, must-revalidate, private"
    return response


@csrf_exempt  # navigator.sendBeacon cannot send a token; the beacon only counts.
@never_cache
@require_http_methods(["POST"])
def pageview_beacon(request):
    """First-party page-view beacon: page id, referrer and landing URL from our script."""
    page_id = request.POST.get("p", "")
    # isascii: "²" and "₀" are digits to str.isdigit() but not to int().
    if not (page_id.isascii() and page_id.isdigit()) or len(page_id) > 18:
        return HttpResponse(status=400)
    enqueue_event(
        request_event(
            request,
            "pageview",
            p=int(page_id),
            r=request.POST.get("r", "")[:2000],
            lu=request.POST.get("u", "")[:2000],
            h=request.get_host().split(":")[0],
            cc=click_cookie_of(request),
        ),
        confirm_after_response=True,
    )
    return HttpResponse(status=204)


def _conversion_headers(response) -> HttpResponse:
    response["Cache-Control"] = "no-store, no-cache, must-revalidate, private"
    # Loaded from the company's own pages: any origin may show or fetch it.
    response["Access-Control-Allow-Origin"] = "*"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    response["X-Robots-Tag"] = "noindex"
    return response


@require_http_methods(["GET", "HEAD"])
def conversion_pixel(request, key):
    """The goal pixel /c/<key>: a 1x1 GIF that records a conversion of the external goal
    `key` (value, currency, order id and click id from the query, analytics.conversions).
    A goal that is unknown or inactive answers the image too and records nothing."""
    if request.method == "GET":
        record_external(request, key)
    return _conversion_headers(HttpResponse(PIXEL_GIF, content_type="image/gif"))


@require_http_methods(["GET", "HEAD"])
def conversion_script(request, key):
    """/c/<key>.js: the goal's script for the company's own pages (README: Goals)."""
    if not KEY_RE.match(key):
        return _not_found()
    body = render_to_string(
        "analytics/goal_script.js",
        {
            # A JSON string is a JavaScript string (the key is checked above).
            "pixel_url_json": json.dumps(f"{settings.SITE_BASE_URL.rstrip('/')}/c/{key}"),
            "pixel_url": f"{settings.SITE_BASE_URL.rstrip('/')}/c/{key}",
            "window_days": settings.ANALYTICS_ATTRIBUTION_WINDOW_DAYS,
        },
    )
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Access-Control-Allow-Origin"] = "*"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    response["Cache-Control"] = "public, max-age=300"
    return response
