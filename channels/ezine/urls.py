from django.urls import path

from . import views

app_name = "ezine_channel"

urlpatterns = [
    path("ezine/<int:page_id>/atom/", views.EZineAtomFeed(), name="atom"),
]
