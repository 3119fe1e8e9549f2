"""Admin registration of the people app: the personal data rights' URLs and the
menu item of their log (for whoever may read it: Leadership, Data protection,
superusers)."""

from django.urls import include, path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from . import rights_urls


@hooks.register("register_admin_urls")
def register_rights_urls():
    return [path("people/rights/", include(rights_urls, namespace="people_rights"))]


class RightsLogMenuItem(MenuItem):
    def is_shown(self, request):
        return request.user.has_perm("people.view_datarightsrequest")


@hooks.register("register_reports_menu_item")
def register_rights_log_menu_item():
    return RightsLogMenuItem(
        _("Personal data requests"), reverse("people_rights:log"), icon_name="lock", order=900
    )
