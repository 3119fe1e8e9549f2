from django.conf import settings
from django.http import HttpResponse
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET


@require_GET
@cache_control(max_age=86400, public=True)
def robots_txt(request):
    """Crawlers may index the hub but not the admin, SSO or tracking endpoints."""
    lines = [
        "User-agent: *",
        "Disallow: /admin/",
        "Disallow: /django-admin/",
        "Disallow: /sso/",
        "Disallow: /t/",
        "",
        # BASE_URL, not the request's Host: crawlers must learn the one public address.
        f"Sitemap: {settings.SITE_BASE_URL}{reverse('sitemap')}",
        "",
    ]
    return HttpResponse("\n".join(lines), content_type="text/plain; charset=utf-8")


# A small mark for the browser tab; without it every admin tab's /favicon.ico is a 404
# (and a console error in the browser).
FAVICON_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    '<rect width="32" height="32" rx="6" fill="#2e1f5e"/>'
    '<path d="M9 22V10l7 6 7-6v12" fill="none" stroke="#fff" stroke-width="3"/></svg>'
)


@require_GET
@cache_control(max_age=86400, public=True)
def favicon(request):
    return HttpResponse(FAVICON_SVG, content_type="image/svg+xml")
