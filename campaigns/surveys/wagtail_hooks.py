"""Admin wiring: the results screen's URLs and a "Results" button on a survey page's
header and in the page listing's menu, and a "Survey results" menu item."""

from django.urls import include, path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.widgets import Button

from . import admin_urls
from .admin_views import RESULTS_PERMISSION


@hooks.register("register_admin_urls")
def register_admin_urls():
    return [path("surveys/", include(admin_urls, namespace="surveys_admin"))]


class ResultsMenuItem(MenuItem):
    def is_shown(self, request):
        return request.user.has_perm(RESULTS_PERMISSION)


@hooks.register("register_admin_menu_item")
def register_results_menu_item():
    return ResultsMenuItem(
        _("Survey results"), reverse("surveys_admin:index"), icon_name="table", order=310
    )


def _results_button(page, user, priority):
    if getattr(page.specific_class, "survey_kind", "") and user.has_perm(RESULTS_PERMISSION):
        yield Button(
            _("Results"),
            reverse("surveys_admin:results", args=[page.pk]),
            icon_name="table",
            priority=priority,
        )


@hooks.register("register_page_header_buttons")
def page_header_results(page, user, view_name=None, next_url=None):
    yield from _results_button(page, user, 15)


@hooks.register("register_page_listing_more_buttons")
def page_listing_results(page, user, next_url=None):
    yield from _results_button(page, user, 15)
