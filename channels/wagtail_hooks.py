"""All admin registration for channels: URLs, the menu, and the home-page panels: manual
placements waiting for the signed-in marketer, email sends under way."""

from collections import defaultdict

from django.db.models import Count
from django.urls import include, path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import Menu, MenuItem, SubmenuMenuItem
from wagtail.admin.ui.components import Component

from .email.models import Delivery, EmailSend
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
        ],
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


class EmailSendsPanel(Component):
    """Email and e-zine sends under way (sending or paused), each with a progress bar
    and a link to its send panel. Two queries, whatever the number of recipients: the
    sends, then one count per (send, delivery status)."""

    name = "email_sends"
    template_name = "channels/home_email_sends.html"
    order = 58
    LIMIT = 10

    def get_context_data(self, parent_context):
        sends = list(
            EmailSend.objects.filter(status__in=[EmailSend.Status.SENDING, EmailSend.Status.PAUSED])
            .select_related("publication__campaign")
            .order_by("-status", "created_at")[: self.LIMIT]
        )
        counts = defaultdict(dict)
        for row in (
            Delivery.objects.filter(publication_id__in=[s.publication_id for s in sends])
            .values("publication_id", "status")
            .annotate(n=Count("pk"))
        ):
            counts[row["publication_id"]][row["status"]] = row["n"]
        rows = []
        for send in sends:
            c = counts[send.publication_id]
            sent, failed = c.get(Delivery.Status.SENT, 0), c.get(Delivery.Status.FAILED, 0)
            skipped = c.get(Delivery.Status.SKIPPED, 0)
            total = sum(c.values())
            done = sent + failed + skipped
            rows.append(
                {
                    "send": send,
                    "sent": sent,
                    "failed": failed,
                    "skipped": skipped,
                    "total": total,
                    "done": done,
                    "percent": (100 * done // total) if total else 0,
                }
            )
        return {"rows": rows}


@hooks.register("construct_homepage_panels")
def add_email_sends_panel(request, panels):
    # The send panel itself asks campaigns.view_publication; acting on a send (pause,
    # resume) asks change_publication, the marketer's permission.
    if request.user.has_perm("campaigns.change_publication"):
        panels.append(EmailSendsPanel())
