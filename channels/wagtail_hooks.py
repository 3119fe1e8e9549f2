"""All admin registration for channels: URLs, the menu, and the home-page notice of
manual placements waiting for the signed-in marketer."""

from django.urls import include, path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import Menu, MenuItem, SubmenuMenuItem
from wagtail.admin.ui.components import Component

from .manual import services as manual_services
from .urls import admin_urlpatterns


@hooks.register("register_admin_urls")
def register_channels_admin_urls():
    return [path("channels/", include((admin_urlpatterns, "channels_admin")))]


class PermissionMenuItem(MenuItem):
    def __init__(self, *args, permission: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.permission = permission

    def is_shown(self, request):
        return request.user.has_perm(self.permission)


@hooks.register("register_admin_menu_item")
def register_channels_menu():
    menu = Menu(
        # Other apps add their items to this menu through this hook.
        register_hook_name="register_channels_menu_item",
        items=[
            PermissionMenuItem(
                _("Accounts"),
                reverse("channels_admin:account_index"),
                name="channel-accounts",
                icon_name="site",
                order=100,
                permission="channels.view_channelaccount",
            ),
            PermissionMenuItem(
                _("Manual placements"),
                reverse("channels_admin:task_index"),
                name="manual-placements",
                icon_name="tasks",
                order=200,
                permission="channels.view_manualplacementtask",
            ),
        ]
    )
    return SubmenuMenuItem(_("Channels"), menu, name="channels", icon_name="site", order=350)


class ManualPlacementPanel(Component):
    """The admin notice: placements assigned to you that are due, overdue ones first."""

    name = "manual_placements"
    template_name = "channels/home_manual_tasks.html"
    order = 90

    def get_context_data(self, parent_context):
        request = parent_context["request"]
        tasks = sorted(
            manual_services.open_tasks_for_user(request.user),
            key=lambda t: (not t.is_overdue, t.due_at),
        )
        return {"tasks": tasks, "request": request}


@hooks.register("construct_homepage_panels")
def add_manual_placement_panel(request, panels):
    if request.user.has_perm("channels.view_manualplacementtask"):
        panels.append(ManualPlacementPanel())
