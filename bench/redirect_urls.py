"""The real URLs plus two baselines for bench/redirect.py:

- /bare/<code>: only returns the same 302 (no lookup, no recording);
- /sync/<code>: the same lookup, then stores the click in PostgreSQL before answering.

They come right after the tracking URLs, so /t/ resolves exactly as in production
(config/urls.py puts its URLs first) and the baselines only pass the three tracking
patterns before theirs; in front, they would have cost every tracked click two
misses that production never pays.
"""

from django.http import HttpResponse, HttpResponseNotFound
from django.urls import path

from analytics.events import store_events
from analytics.link_cache import resolve_link_code
from analytics.visitors import request_event
from config.urls import urlpatterns as real_urlpatterns

BARE_LOCATION = "https://shop.example.com/spring?utm_source=blog&utm_medium=referral"


def bare_redirect(request, code):
    response = HttpResponse(status=302)
    response["Location"] = BARE_LOCATION
    response["Cache-Control"] = "no-store"
    return response


def sync_redirect(request, code):
    link = resolve_link_code(code)
    if link is None:
        return HttpResponseNotFound(b"Not found", content_type="text/plain")
    store_events([request_event(request, "click", l=link[0])])
    response = HttpResponse(status=302)
    response["Location"] = link[1]
    response["Cache-Control"] = "no-store"
    return response


tracking_urls, *other_urls = real_urlpatterns
urlpatterns = [
    tracking_urls,
    path("bare/<str:code>", bare_redirect),
    path("sync/<str:code>", sync_redirect),
    *other_urls,
]
