"""All admin registration for the email channel: the send panel's URLs and the "Sends"
item of the Campaigns menu."""

from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from . import admin_views


@hooks.register("register_admin_urls")
def register_email_urls():
    return [
        path("email/", admin_views.email_sends, name="email_sends"),
        path("email/<int:publication_id>/", admin_views.email_overview, name="email_overview"),
        path(
            "email/<int:publication_id>/progress/",
            admin_views.email_progress,
            name="email_progress",
        ),
        path(
            "email/<int:publication_id>/preview/",
            admin_views.email_preview,
            name="email_preview",
        ),
    ]


class SendsMenuItem(MenuItem):
    def is_shown(self, request):
        return request.user.has_perm(admin_views.VIEW_PERM)


# The Campaigns menu (campaigns/wagtail_hooks.py) gathers the items of this hook.
@hooks.register("register_campaigns_menu_item")
def register_sends_menu_item():
    return SendsMenuItem(
        _("Sends"), reverse("email_sends"), name="email-sends", icon_name="mail", order=250
    )
