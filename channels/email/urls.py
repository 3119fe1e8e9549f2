from django.urls import path

from . import views

app_name = "email_channel"

urlpatterns = [
    path("hooks/email/<int:account_id>/ses/", views.ses_webhook, name="ses_webhook"),
    path("hooks/email/<int:account_id>/mailgun/", views.mailgun_webhook, name="mailgun_webhook"),
]
