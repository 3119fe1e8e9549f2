"""Public URLs: none. Admin URLs (`admin_urlpatterns`) are mounted under
/admin/channels/ by wagtail_hooks.register_admin_urls, behind Wagtail's admin login."""

from django.urls import path

from . import views

app_name = "channels"

urlpatterns: list = []

admin_urlpatterns = [
    path("", views.account_index, name="account_index"),
    path("add/", views.account_create, name="account_create"),
    path("<int:pk>/", views.account_edit, name="account_edit"),
    path("<int:pk>/test/", views.account_test, name="account_test"),
    path("<int:pk>/reddit/connect/", views.reddit_connect, name="reddit_connect"),
    path("reddit/callback/", views.reddit_callback, name="reddit_callback"),
    path("tasks/", views.task_index, name="task_index"),
    path("tasks/<int:pk>/", views.task_detail, name="task_detail"),
]
