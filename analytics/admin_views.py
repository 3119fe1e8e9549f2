"""Dashboards in the Wagtail admin. Read-only: they need analytics.view_dashboard and
change nothing, so Leadership can use them."""

import csv

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from wagtail.admin.ui.tables import Column, DateColumn
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet

from . import conversion_dashboard as conv
from . import dashboards
from .dashboards import channel_name, shown
from .forms import DashboardFilterForm, TrackedLinkForm
from .links import get_or_create_tracked_link
from .metrics import METRIC_COLUMNS
from .models import TrackedLink
from .rollups import rolled_up_at

DASHBOARD_PERMISSION = "analytics.view_dashboard"


def chart_labels():
    """Series names in the user's language (evaluated per request)."""
    return {key: str(label) for key, label in METRIC_COLUMNS} | {"score": _("SEO score")}


def kpis(totals: dict, names) -> list[tuple[str, str, object]]:
    """(name, header, value as shown) of each tile."""
    labels = dict(METRIC_COLUMNS)
    return [(name, str(labels[name]), shown(name, totals.get(name))) for name in names]


# The tiles over a dashboard, in order: what was delivered and how it was read (email),
# then the hub pages, then what went wrong.
KPI_NAMES = (
    "sends",
    "deliveries",
    "unique_opens",
    "open_rate",
    "unique_clickers",
    "email_ctr",
    "click_to_open",
    "web_clickers",
    "web_click_rate",
    "clicks",
    "unsubscribes",
    "unsubscribe_rate",
    "bounces",
    "bounce_rate",
)


# The overview's tiles: the same, then what the campaigns produced.
OVERVIEW_KPI_NAMES = (*KPI_NAMES, "conversions", "conversion_rate")


def _query_without_export(request) -> str:
    query = request.GET.copy()
    query.pop("export", None)
    return query.urlencode()


def require_dashboard_permission(request):
    if not request.user.has_perm(DASHBOARD_PERMISSION):
        raise PermissionDenied


def csv_response(filename: str, columns: list[tuple[str, str]], rows: list[dict]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    response.write("\ufeff")  # Excel needs the BOM to read UTF-8 (Chinese names).
    writer = csv.writer(response)
    writer.writerow([str(label) for _, label in columns])
    for row in rows:
        values = []
        for key, _label in columns:
            value = shown(key, row.get(key))
            if isinstance(value, list):
                value = "; ".join(str(v) for v in value)
            text = "" if value is None else str(value)
            # Spreadsheet formula injection: a cell starting with = + - @ is a formula.
            if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
                text = "'" + text
            values.append(text)
        writer.writerow(values)
    return response


def _conversion_tables(flt, campaign, model, by_channel, cur, spent) -> dict:
    value = _("Value (%(currency)s)") % {"currency": cur.value_currency or "—"}
    cost = _("Cost (%(currency)s)") % {"currency": cur.cost_currency}
    per = _("Cost per conversion (%(currency)s)") % {"currency": cur.cost_currency}
    credited = _("Conversions (%(model)s)") % {"model": conv.model_label(model)}
    money_columns = [
        ("credited", credited),
        ("value", value),
        ("cost", cost),
        ("cost_per_conversion", per),
        ("roas", _("Return on spend")),
    ]
    return {
        "attribution_channels": (
            [
                ("channel", _("Channel")),
                ("clicks", _("Clicks")),
                ("conversion_rate", _("Conversion rate")),
                *[(m, label) for m, label in conv.model_choices()],
                *money_columns,
            ],
            conv.attribution_by_channel(flt, campaign.pk, model, cur, by_channel, spent),
        ),
        "attribution_content": (
            [
                ("title", _("Content")),
                ("channel", _("Channel")),
                ("conversion_rate", _("Conversion rate")),
                *money_columns,
            ],
            conv.attribution_by_content(flt, campaign.pk, model, cur, spent),
        ),
        "goals": (
            [
                ("name", _("Goal")),
                ("kind", _("Kind")),
                ("target_count", _("Target conversions")),
                ("conversions", _("Conversions")),
                ("count_progress", _("Share of target")),
                ("target_value", _("Target value")),
                ("value", _("Value")),
                ("value_progress", _("Share of target value")),
                ("currency", _("Currency")),
            ],
            conv.goals_progress(flt, campaign.pk),
        ),
    }


def _tables_for_campaign(flt, campaign, model, cur, spent):
    cid = campaign.pk
    by_channel = dashboards.campaign_by_channel(flt, cid)
    return {
        **_conversion_tables(flt, campaign, model, by_channel, cur, spent),
        "by_channel": ([("channel", _("Channel")), *METRIC_COLUMNS], by_channel),
        "over_time": (
            [("bucket", _("Date")), *METRIC_COLUMNS],
            dashboards.campaign_over_time(flt, cid),
        ),
        "top_publications": (
            [
                ("title", _("Publication")),
                ("channel", _("Channel")),
                ("account", _("Account")),
                *METRIC_COLUMNS,
            ],
            dashboards.top_publications(flt, cid),
        ),
        "top_links": (
            [
                ("url", _("Destination")),
                ("label", _("Label")),
                ("channel", _("Channel")),
                ("clicks", _("Clicks")),
                ("unique_clicks", _("Unique clicks")),
                ("bot_clicks", _("Bot clicks (excluded)")),
            ],
            dashboards.top_links(flt, cid),
        ),
        "seo": dashboards.seo_table(flt, cid),
        "schedule": (
            [
                ("title", _("Publication")),
                ("channel", _("Channel")),
                ("account", _("Account")),
                ("publish_at", _("Publish at")),
                ("status", _("Status")),
            ],
            dashboards.schedule(cid),
        ),
    }


def _chart_data(rows, metrics):
    return {
        "x": [str(r["bucket"]) for r in rows],
        "series": {m: [r.get(m) or 0 for r in rows] for m in metrics},
    }


def campaign_index(request):
    require_dashboard_permission(request)
    from campaigns.models import Campaign

    form = DashboardFilterForm(request.GET or None)
    flt = form.get_filter()
    totals = {r["campaign_id"]: r for r in dashboards.campaigns_compared(flt)}
    campaigns = [
        {"campaign": c, "totals": totals.get(c.pk)}
        for c in Campaign.objects.order_by("-start_date", "name")[:500]
    ]
    return TemplateResponse(
        request,
        "analytics/campaign_index.html",
        {
            "header_title": _("Campaign dashboards"),
            "page_title": _("Campaign dashboards"),
            "campaigns": campaigns,
            "form": form,
        },
    )


def campaign_dashboard(request, campaign_id):
    require_dashboard_permission(request)
    from campaigns.budget import campaign_spend
    from campaigns.models import Campaign

    campaign = get_object_or_404(Campaign, pk=campaign_id)
    # Opens on the campaign's own dates; the form shows them.
    own = dashboards.DashboardFilter.for_campaign(campaign)
    form = DashboardFilterForm(request.GET or None, default=own)
    flt = form.get_filter()
    model = conv.clean_model(request.GET.get("model"))
    cur, spent = conv.currencies(campaign), conv.costs(flt, campaign.pk)
    tables = _tables_for_campaign(flt, campaign, model, cur, spent)
    export = request.GET.get("export")
    if export:
        if export not in tables:
            raise Http404
        columns, rows = tables[export]
        return csv_response(f"{campaign.slug}-{export}-{flt.start}-{flt.end}", columns, rows)
    totals = dashboards.campaign_totals(flt, campaign.pk)
    over_time = tables["over_time"][1]
    by_channel = tables["by_channel"][1]
    charts = {
        "over_time": _chart_data(
            over_time, ["clicks", "unique_clicks", "opens", "deliveries", "pageviews"]
        ),
        "by_channel": {
            "x": [channel_name(r["channel"]) for r in by_channel],
            "series": {
                m: [r[m] for r in by_channel]
                for m in ("deliveries", "opens", "clicks", "unique_clicks")
            },
        },
        "seo_trend": _chart_data(dashboards.seo_trend(campaign.pk), ["score"]),
        "conversions": _chart_data(over_time, ["conversions", "converting_clicks"]),
    }
    return TemplateResponse(
        request,
        "analytics/campaign_dashboard.html",
        {
            "header_title": _("Dashboard: %(name)s") % {"name": campaign.name},
            "page_title": campaign.name,
            "campaign": campaign,
            "form": form,
            "flt": flt,
            "totals": totals,
            "tables": {name: {"columns": c, "rows": r} for name, (c, r) in tables.items()},
            "chart_payload": {"charts": charts, "labels": chart_labels()},
            "query": _query_without_export(request),
            "seo": dashboards.seo_section(flt, campaign.pk),
            "kpis": kpis(totals, KPI_NAMES),
            "conversion_kpis": conv.tiles(totals, cur, spent),
            "funnel": conv.funnel(by_channel),
            "model": model,
            "models": conv.model_choices(),
            "spend": campaign_spend(campaign),
            "index_url": reverse("analytics_dashboards"),
            "as_of": rolled_up_at(),
        },
    )


def overview(request):
    require_dashboard_permission(request)
    form = DashboardFilterForm(request.GET or None)
    flt = form.get_filter()
    compared = dashboards.campaigns_compared(flt)
    mix = dashboards.channel_mix(flt)
    trend = dashboards.overall_trend(flt)
    totals = dashboards.overview_totals(flt)
    best, worst = dashboards.best_and_worst(compared)
    compare_columns = [("name", _("Campaign")), ("status", _("Status")), *METRIC_COLUMNS]
    ranked_columns = [
        ("name", _("Campaign")),
        ("ranked_by", _("Ranked by")),
        ("rank_rate", _("Rate")),
        *compare_columns[1:],
    ]
    channel_columns = [("channel", _("Channel")), *METRIC_COLUMNS]
    tables = {
        "campaigns": (compare_columns, compared),
        "channels": (channel_columns, mix),
        "trend": ([("bucket", _("Date")), *METRIC_COLUMNS], trend),
        "best": (ranked_columns, best),
        "worst": (ranked_columns, worst),
    }
    export = request.GET.get("export")
    if export:
        if export not in tables:
            raise Http404
        columns, rows = tables[export]
        return csv_response(f"overview-{export}-{flt.start}-{flt.end}", columns, rows)
    top = compared[:15]
    charts = {
        "trend": _chart_data(trend, ["clicks", "unique_clicks", "opens", "pageviews"]),
        "channel_mix": {
            "x": [channel_name(r["channel"]) for r in mix],
            "series": {"clicks": [r["clicks"] for r in mix]},
        },
        "campaigns": {
            "x": [r["name"] for r in top],
            "series": {m: [r[m] for r in top] for m in ("clicks", "unique_clicks", "opens")},
        },
    }
    return TemplateResponse(
        request,
        "analytics/overview.html",
        {
            "header_title": _("Leadership overview"),
            "page_title": _("Leadership overview"),
            "form": form,
            "flt": flt,
            "tables": {name: {"columns": c, "rows": r} for name, (c, r) in tables.items()},
            "chart_payload": {"charts": charts, "labels": chart_labels()},
            "query": _query_without_export(request),
            "index_url": reverse("analytics_dashboards"),
            "kpis": kpis(totals, OVERVIEW_KPI_NAMES),
            "as_of": rolled_up_at(),
        },
    )


# --- Hand-made tracked links ---------------------------------------------------------------


class TrackedLinkEditForm(TrackedLinkForm):
    class Meta(TrackedLinkForm.Meta):
        fields = ["label"]


class TrackedLinkCreateView(generic.CreateView):
    def save_instance(self):
        data = self.form.cleaned_data
        return get_or_create_tracked_link(
            data["original_url"],
            campaign=data.get("campaign"),
            channel=data.get("channel") or "manual",
            medium=data.get("medium") or "",
            label=data.get("label") or "",
            created_by=self.request.user,
        )


class TrackedLinkViewSet(ModelViewSet):
    model = TrackedLink
    icon = "link"
    menu_label = gettext_lazy("Tracked links")
    add_to_admin_menu = True
    menu_order = 310
    add_view_class = TrackedLinkCreateView
    # The title column is the label, or the URL for a link nobody labelled (not
    # Wagtail's untranslated "(blank)"); the channel family in words.
    list_display = [
        "__str__",
        "original_url",
        "campaign",
        Column(
            "channel",
            label=gettext_lazy("channel"),
            accessor=lambda link: channel_name(link.channel),
        ),
        Column("short_url", label=gettext_lazy("short URL")),
        DateColumn("created_at", label=gettext_lazy("created at")),
    ]
    list_filter = ["channel"]
    search_fields = ["label", "original_url", "code"]

    def get_form_class(self, for_update=False):
        return TrackedLinkEditForm if for_update else TrackedLinkForm


tracked_link_viewset = TrackedLinkViewSet("tracked_links")
