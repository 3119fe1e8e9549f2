"""All admin registration for campaigns: URLs, the menu, notifications (shown once as
an admin message on the next admin page, listed on the home page) and the campaign
panels of the home page (campaigns.home_panels)."""

from django.contrib import messages
from django.template.loader import render_to_string
from django.urls import include, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import Menu, MenuItem, SubmenuMenuItem
from wagtail.admin.ui.components import Component

from . import admin_urls, home_panels, notifications
from .chooser import content_chooser_viewset
from .models import Notification


@hooks.register("register_admin_urls")
def register_campaign_urls():
    return [path("campaigns/", include(admin_urls, namespace="campaigns_admin"))]


class PermissionMenuItem(MenuItem):
    def __init__(self, *args, permission, **kwargs):
        super().__init__(*args, **kwargs)
        self.permission = permission

    def is_shown(self, request):
        return request.user.has_perm(self.permission)


class CampaignsSubmenu(SubmenuMenuItem):
    def is_shown(self, request):
        return request.user.has_perm("campaigns.view_campaign")


@hooks.register("register_admin_menu_item")
def register_campaigns_menu():
    menu = Menu(
        # Other apps add their items to this menu through this hook.
        register_hook_name="register_campaigns_menu_item",
        items=[
            PermissionMenuItem(
                _("Campaigns"), reverse("campaigns_admin:index"), name="campaign-list",
                icon_name="list-ul", order=100, permission="campaigns.view_campaign",
            ),
            PermissionMenuItem(
                _("Schedule calendar"), reverse("campaigns_admin:calendar"), name="campaign-calendar",
                icon_name="calendar", order=200, permission="campaigns.view_publication",
            ),
            MenuItem(
                _("Notifications"), reverse("campaigns_admin:notifications"), name="campaign-notifications",
                icon_name="warning", order=300,
            ),
        ]
    )  # fmt: skip
    return CampaignsSubmenu(_("Campaigns"), menu, name="campaigns", icon_name="date", order=250)


@hooks.register("construct_main_menu")
def show_new_notifications(request, menu_items):
    """Runs on every admin page: turn notifications not yet shown into admin messages
    (displayed on this or the next page), once each."""
    if not request.user.is_authenticated:
        return
    levels = {
        Notification.Level.ERROR: messages.ERROR,
        Notification.Level.WARNING: messages.WARNING,
        Notification.Level.INFO: messages.INFO,
    }
    for note in notifications.pop_unshown_notifications(request.user):
        text = format_html('{} <a href="{}">{}</a>', note.message, note.url, gettext("Open"))
        messages.add_message(request, levels.get(note.level, messages.INFO), text)


class NotificationsPanel(Component):
    name = "campaign_notifications"
    order = 50

    def __init__(self, notes):
        self.notes = notes

    def render_html(self, parent_context=None):
        return render_to_string(
            "campaigns/notifications_panel.html",
            {"notifications": self.notes, "url": reverse("campaigns_admin:notifications")},
        )


@hooks.register("construct_homepage_panels")
def add_notifications_panel(request, panels):
    notes = notifications.notifications_for(request.user, unread_only=True, limit=10)
    if notes:
        panels.append(NotificationsPanel(notes))


@hooks.register("register_admin_viewset")
def register_content_chooser():
    # The publication form's content chooser (its modal and results URLs).
    return content_chooser_viewset


@hooks.register("construct_homepage_panels")
def add_campaign_panels(request, panels):
    panels.extend(home_panels.panels_for(request.user))
