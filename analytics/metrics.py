"""The metrics every rollup row counts, declared once.

Everything else derives from METRICS: the rollup tables' counter columns
(analytics.models.Metrics), the SQL that counts them (analytics.rollups), the sums the
dashboards read (analytics.dashboards) and the dashboards' table columns with their
headers (analytics.admin_views). Adding a counter here adds its column to the models,
so it then needs a migration like any model change.

This module imports nothing of the app: the models are built from it.
"""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

# SQL over the events table (aliased `e`): events a person caused, not a bot or scanner.
HUMAN = "NOT e.is_bot"


@dataclass(frozen=True)
class Metric:
    name: str
    # The column header on the dashboards; None for a metric counted but not shown.
    label: object = None
    # SQL condition over the events table (aliased `e`) selecting the events this
    # counter counts. Empty for a rate the dashboards compute from the counters.
    counts: str = ""


# In the order the dashboards show them; the counters not shown come last.
METRICS = (
    Metric("sends", _("Sends"), "e.kind = 'send'"),
    Metric("deliveries", _("Deliveries"), "e.kind = 'delivery'"),
    Metric("opens", _("Opens"), f"e.kind = 'open' AND {HUMAN}"),
    Metric("unique_opens", _("Unique opens"), f"e.kind = 'open' AND {HUMAN} AND e.is_unique"),
    Metric("clicks", _("Clicks"), f"e.kind = 'click' AND {HUMAN}"),
    Metric("unique_clicks", _("Unique clicks"), f"e.kind = 'click' AND {HUMAN} AND e.is_unique"),
    # Unique clicks per delivery or page view (analytics.dashboards): no column of its own.
    Metric("ctr", _("CTR %")),
    Metric("unsubscribes", _("Unsubscribes"), "e.kind = 'unsubscribe'"),
    Metric("bounces", _("Bounces"), "e.kind = 'bounce'"),
    Metric("bot_clicks", _("Bot clicks (excluded)"), "e.kind = 'click' AND e.is_bot"),
    Metric("pageviews", _("Page views"), f"e.kind = 'pageview' AND {HUMAN}"),
    Metric(
        "organic_visits",
        _("Organic visits"),
        f"e.kind = 'pageview' AND {HUMAN} AND e.referrer_class = 'organic'",
    ),
    Metric("complaints", counts="e.kind = 'complaint'"),
    Metric("unique_visitors", counts=f"e.kind = 'pageview' AND {HUMAN} AND e.is_unique"),
)

# The counters: one integer column each in every rollup table.
COUNTERS = tuple(metric for metric in METRICS if metric.counts)
METRIC_FIELDS = tuple(metric.name for metric in COUNTERS)

# (name, header) of the metrics the dashboards' tables and CSV exports show.
METRIC_COLUMNS = [(metric.name, metric.label) for metric in METRICS if metric.label]
