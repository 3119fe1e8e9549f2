from django.urls import path

from . import views

app_name = "surveys"

urlpatterns = [
    path("surveys/<int:page_id>/answer/", views.answer, name="answer"),
]
