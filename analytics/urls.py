from django.urls import path, re_path

from . import views

app_name = "analytics"

urlpatterns = [
    path("t/o/<str:token>", views.open_pixel, name="open_pixel"),
    path("a/pv", views.pageview_beacon, name="pageview_beacon"),
    # Goals on the company's own site: the script and the pixel (analytics.conversions).
    path("c/<str:key>.js", views.conversion_script, name="conversion_script"),
    path("c/<str:key>", views.conversion_pixel, name="conversion_pixel"),
    # Everything else under /t/ is ours, so no other pattern (or APPEND_SLASH) ever
    # turns a malformed code into a redirect; the view answers 404 for it.
    # [\s\S] rather than (?s): inline flags make the whole URLconf non-reversible.
    re_path(r"^t/(?P<code>[\s\S]*)\Z", views.redirect_link, name="redirect"),
]
