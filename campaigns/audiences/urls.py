from django.urls import path

from . import views

app_name = "audiences"

urlpatterns = [
    path("subscribe/<slug:slug>/", views.subscribe_form, name="subscribe"),
    path("subscribe/confirm/<str:token>/", views.confirm, name="confirm"),
    path("u/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("preferences/<str:token>/", views.preferences, name="preferences"),
]
