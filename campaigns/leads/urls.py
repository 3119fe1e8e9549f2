from django.urls import path

from . import views

app_name = "leads"

urlpatterns = [
    path("forms/<int:page_id>/embed/", views.embedded_form, name="embed"),
    path("forms/<int:page_id>/embed.js", views.embed_script, name="embed_script"),
]
