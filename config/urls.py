from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.contrib.sitemaps.views import sitemap
from wagtail.documents import urls as wagtaildocs_urls

from content import views as content_views

urlpatterns = [
    # First: the tracked-link redirect and the open pixel are by far the most requested
    # URLs, and each pattern tried before them costs every click (~8 us in all).
    path("", include("analytics.urls")),
    path("django-admin/", admin.site.urls),
    path("admin/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    path("sso/", include("social_django.urls", namespace="social")),
    path("sitemap.xml", sitemap, name="sitemap"),
    path("robots.txt", content_views.robots_txt, name="robots_txt"),
    path("favicon.ico", content_views.favicon, name="favicon"),
    path("", include("campaigns.urls")),
    path("", include("campaigns.audiences.urls")),
    path("", include("campaigns.leads.urls")),
    path("", include("campaigns.feedback.urls")),
    path("", include("campaigns.surveys.urls")),
    path("", include("channels.email.urls")),
    path("", include("channels.ezine.urls")),
    path("", include("channels.urls")),
    path("", include("config.ops.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static
    from django.contrib.staticfiles.urls import staticfiles_urlpatterns

    urlpatterns += staticfiles_urlpatterns()
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# Wagtail serves every other path as a page: keep it last.
urlpatterns += [path("", include(wagtail_urls))]
