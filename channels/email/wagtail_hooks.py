"""All admin registration for the email channel."""

from django.urls import path
from wagtail import hooks

from . import admin_views


@hooks.register("register_admin_urls")
def register_email_urls():
    return [
        path("email/<int:publication_id>/", admin_views.email_overview, name="email_overview"),
        path(
            "email/<int:publication_id>/preview/",
            admin_views.email_preview,
            name="email_preview",
        ),
    ]
