from django.urls import include, path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from . import admin_urls


@hooks.register("register_admin_urls")
def register_operations_url():
    return [path("operations/", include(admin_urls, namespace="ops"))]


class OperationsMenuItem(MenuItem):
    def is_shown(self, request):
        return request.user.has_perm("ops.view_operations")


@hooks.register("register_settings_menu_item")
def register_operations_menu_item():
    return OperationsMenuItem(
        _("Operations"), reverse("ops:operations"), icon_name="cogs", order=900
    )
