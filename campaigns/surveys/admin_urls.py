from django.urls import path

from . import admin_views

app_name = "surveys_admin"

urlpatterns = [
    path("", admin_views.survey_index, name="index"),
    path("<int:page_id>/results/", admin_views.survey_results, name="results"),
]
