"""All admin registration of analytics: dashboards and hand-made tracked links."""

from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from . import admin_views


@hooks.register("register_admin_urls")
def register_dashboard_urls():
    return [
        path("dashboards/", admin_views.campaign_index, name="analytics_dashboards"),
        path("dashboards/overview/", admin_views.overview, name="analytics_overview"),
        path(
            "dashboards/campaign/<int:campaign_id>/",
            admin_views.campaign_dashboard,
            name="analytics_campaign_dashboard",
        ),
    ]


class DashboardMenuItem(MenuItem):
    def is_shown(self, request):
        return request.user.has_perm(admin_views.DASHBOARD_PERMISSION)


@hooks.register("register_admin_menu_item")
def register_dashboard_menu_item():
    return DashboardMenuItem(
        _("Dashboards"), reverse("analytics_dashboards"), icon_name="view", order=300
    )


@hooks.register("register_admin_viewset")
def register_tracked_link_viewset():
    return admin_views.tracked_link_viewset
