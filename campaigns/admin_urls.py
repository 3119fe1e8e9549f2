"""Admin URLs, mounted under /admin/campaigns/ by wagtail_hooks (register_admin_urls,
which wraps every view in Wagtail's admin-access check)."""

from django.urls import path

from . import calendar_views, views

app_name = "campaigns_admin"

urlpatterns = [
    path("", views.campaign_index, name="index"),
    path("add/", views.campaign_create, name="create"),
    path("<int:pk>/", views.campaign_detail, name="detail"),
    path("<int:pk>/edit/", views.campaign_edit, name="edit"),
    path("<int:pk>/action/<slug:action>/", views.campaign_action, name="action"),
    path("<int:pk>/bulk-reschedule/", views.bulk_reschedule, name="bulk_reschedule"),
    path(
        "<int:campaign_pk>/publications/add/", views.publication_create, name="publication_create"
    ),
    path("publications/<int:pk>/", views.publication_edit, name="publication_edit"),
    path(
        "publications/recurrence-preview/",
        views.recurrence_preview,
        name="recurrence_preview",
    ),
    path("publications/<int:pk>/cost/", views.publication_cost, name="publication_cost"),
    path("publications/<int:pk>/log/", views.publication_log, name="publication_log"),
    path(
        "publications/<int:pk>/action/<slug:action>/",
        views.publication_action,
        name="publication_action",
    ),
    path("calendar/", calendar_views.schedule_calendar, name="calendar"),
    path("calendar/new/", calendar_views.calendar_new, name="calendar_new"),
    path("calendar/move/<int:pk>/", calendar_views.calendar_move, name="calendar_move"),
    path("notifications/", views.notification_index, name="notifications"),
]
