"""Admin URLs of the personal data rights (mounted under /admin/people/rights/ by
wagtail_hooks.py; names in the "people_rights" namespace)."""

from django.urls import path

from . import rights_views

app_name = "people_rights"

urlpatterns = [
    path("", rights_views.log, name="log"),
    path("<int:subscriber_id>/export.json", rights_views.export_json, name="export_json"),
    path("<int:subscriber_id>/export.zip", rights_views.export_csv, name="export_csv"),
    path("<int:subscriber_id>/erase/", rights_views.erase, name="erase"),
]
