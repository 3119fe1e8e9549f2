"""The feedback inbox in the admin (menu item "Feedback", its URLs, the home panel of an
assignee's cases due today or overdue) and the feedback page on the hub (answered by
views.serve_feedback_page, the innermost link of Wagtail's serve chain, as the landing
pages are)."""

from django.urls import include, path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.components import Component

from . import admin_urls, services
from .models import FeedbackPage
from .views import serve_feedback_page

PANEL_ROWS = 10


def _serve_feedback_pages(serve_next):
    def serve(page, request, args, kwargs):
        if isinstance(page, FeedbackPage):
            return serve_feedback_page(page, request, embed=False)
        return serve_next(page, request, args, kwargs)

    return serve


hooks.register("on_serve_page", _serve_feedback_pages, order=1000)


@hooks.register("register_admin_urls")
def register_feedback_urls():
    return [path("feedback/", include(admin_urls, namespace="feedback_admin"))]


class FeedbackMenuItem(MenuItem):
    def is_shown(self, request):
        return request.user.has_perm("feedback.view_case")


@hooks.register("register_admin_menu_item")
def register_feedback_menu():
    return FeedbackMenuItem(
        _("Feedback"), reverse("feedback_admin:index"), name="feedback", icon_name="mail", order=260
    )


class CasesDuePanel(Component):
    name = "feedback_due"
    template_name = "feedback/home/due.html"
    order = 55

    def __init__(self, cases, more, user_id):
        self.cases, self.more, self.user_id = cases, more, user_id

    def get_context_data(self, parent_context):
        return {
            "cases": self.cases,
            "more": self.more,
            "user_id": self.user_id,
            "now": timezone.now(),
        }


@hooks.register("construct_homepage_panels")
def add_cases_due_panel(request, panels):
    if not request.user.has_perm("feedback.view_case"):
        return
    rows = list(services.due_for(request.user)[: PANEL_ROWS + 1])
    if rows:
        panels.append(CasesDuePanel(rows[:PANEL_ROWS], len(rows) > PANEL_ROWS, request.user.pk))
