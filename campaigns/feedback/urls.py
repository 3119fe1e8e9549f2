from django.urls import path

from . import views

app_name = "feedback"

urlpatterns = [
    path("feedback/<int:page_id>/embed/", views.embedded_form, name="embed"),
    path("feedback/status/<str:token>/", views.status_page, name="status"),
]
