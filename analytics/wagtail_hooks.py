"""All admin registration of analytics: dashboards, hand-made tracked links, and the
home-page panels that read analytics: an editor's drafts with their SEO scores, the
pages whose score needs work, and leadership's running campaigns with their figures.

The editor panels live here, not in content/, because content imports no other app
and the scores are analytics' SeoAnalysis. Each panel reads with one query or two.
"""

from django.db.models import CharField, Exists, OuterRef, Q, Subquery
from django.db.models.functions import Cast
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.components import Component
from wagtail.models import Page, WorkflowState, get_default_page_content_type
from wagtail.permission_policies.pages import PagePermissionPolicy

from campaigns.models import Campaign

from . import admin_views, dashboards
from .goal_admin import goal_viewset
from .metrics import METRICS
from .models import SeoAnalysis
from .rollups import rolled_up_at
from .search import admin_views as search_admin_views


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
def register_goal_viewset():
    return goal_viewset


@hooks.register("register_admin_viewset")
def register_tracked_link_viewset():
    return admin_views.tracked_link_viewset


@hooks.register("register_admin_viewset")
def register_search_connection_viewset():
    # Settings > Analytics connections (Search Console, Baidu Tongji).
    return search_admin_views.connection_viewset


# --- Home page panels ----------------------------------------------------------------------

ROWS = 10
# A score under this fails several of the checks (content/seo): worth an editor's time.
SEO_SCORE_TO_FIX = 60
# The same figures, defined once (analytics.metrics), as the dashboards' tiles.
HEADLINE_METRICS = ("deliveries", "unique_clickers", "email_ctr", "web_click_rate")


def _latest_score():
    return Subquery(
        SeoAnalysis.objects.filter(page=OuterRef("pk"))
        .order_by("-created_at", "-pk")
        # The score of the page as last analysed (each save of a revision is analysed).
        .values("score")[:1]
    )


def _in_moderation():
    # object_id is text: compare with the page id cast to text, as Wagtail's own home
    # panels do (PostgreSQL casts nothing implicitly).
    return Exists(
        WorkflowState.objects.active().filter(
            base_content_type_id=get_default_page_content_type().id,
            object_id=Cast(OuterRef("pk"), output_field=CharField()),
        )
    )


def writes_pages(user) -> bool:
    return PagePermissionPolicy().user_has_any_permission(user, ["add", "change"])


class DraftsPanel(Component):
    """The editor's own pages with changes not yet live and not in moderation (those
    are in Wagtail's "Your pages and snippets in a workflow"), with their SEO score."""

    name = "my_drafts"
    template_name = "analytics/home/drafts.html"
    order = 240

    def get_context_data(self, parent_context):
        user = parent_context["request"].user
        pages = (
            Page.objects.filter(owner=user)
            .filter(Q(live=False) | Q(has_unpublished_changes=True))
            .exclude(_in_moderation())
            .annotate(seo_score=_latest_score())
            .order_by("-latest_revision_created_at", "-pk")
        )
        return {"pages": list(pages[:ROWS]), "threshold": SEO_SCORE_TO_FIX}


class SeoToFixPanel(Component):
    """The editor's pages whose latest SEO analysis scores under SEO_SCORE_TO_FIX,
    worst first; the page's SEO panel lists the hints."""

    name = "seo_to_fix"
    template_name = "analytics/home/seo_to_fix.html"
    order = 245

    def get_context_data(self, parent_context):
        user = parent_context["request"].user
        pages = (
            Page.objects.filter(owner=user)
            .annotate(seo_score=_latest_score())
            .filter(seo_score__lt=SEO_SCORE_TO_FIX)
            .order_by("seo_score", "-latest_revision_created_at")
        )
        return {"pages": list(pages[:ROWS]), "threshold": SEO_SCORE_TO_FIX}


class RunningCampaignsPanel(Component):
    """Leadership: campaigns running now, with their headline figures over the last 30
    days (the overview's own query and rates), linking to each dashboard."""

    name = "running_campaigns"
    template_name = "analytics/home/running_campaigns.html"
    # After a marketer's own panels (marketers see results too, below what they act on).
    order = 70

    def get_context_data(self, parent_context):
        campaigns = list(
            Campaign.objects.filter(status=Campaign.Status.RUNNING).order_by("end_date", "pk")[
                :ROWS
            ]
        )
        flt = dashboards.DashboardFilter.default()
        figures = {row["campaign_id"]: row for row in dashboards.campaigns_compared(flt)}
        labels = {metric.name: metric.label for metric in METRICS}
        rows = [
            {
                "campaign": c,
                "figures": [
                    dashboards.shown(name, figures.get(c.pk, {}).get(name))
                    for name in HEADLINE_METRICS
                ],
            }
            for c in campaigns
        ]
        return {
            "rows": rows,
            "headers": [labels[name] for name in HEADLINE_METRICS],
            "overview_url": reverse("analytics_overview"),
            "days": (flt.end - flt.start).days + 1,
            "as_of": rolled_up_at(),
        }


@hooks.register("construct_homepage_panels")
def add_analytics_panels(request, panels):
    user = request.user
    if writes_pages(user):
        panels += [DraftsPanel(), SeoToFixPanel()]
    if user.has_perm(admin_views.DASHBOARD_PERMISSION):
        panels.append(RunningCampaignsPanel())
