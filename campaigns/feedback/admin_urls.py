from django.urls import path

from . import admin_views

app_name = "feedback_admin"

urlpatterns = [
    path("", admin_views.index, name="index"),
    path("<int:pk>/", admin_views.case_view, name="case"),
]
