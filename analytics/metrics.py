"""The metrics, declared once; docs/metrics.md says the same in words.

Everything else derives from METRICS: the rollup tables' counter columns
(analytics.models.Metrics), the SQL that counts them (analytics.rollups), the sums the
dashboards read (analytics.dashboards) and the dashboards' table columns with their
headers (analytics.admin_views). Adding a counter here adds its column to the models,
so it then needs a migration like any model change. The rates are declared here too
(RATES) and computed from the counters by `rates`, the one place they are divided.

Two flags of an event decide what is counted once (analytics.events marks them):
- `is_unique`: the first human click of a recipient (or a visitor that day) on one
  link; the first open of a recipient; a visitor's first page view of a page that day.
- `is_first`: the first event of its kind for one recipient of one publication, ever,
  and only for a recipient it can be counted against (see analytics.events._mark_first):
  sends and deliveries; opens, email clicks and unsubscribes of a delivered recipient;
  bounces and complaints of a recipient sent to. For a click without a recipient (on the
  web), the first click of a visitor that day on a link of hub content whose page that
  visitor viewed that day.
- `is_first_open`: the first open of a delivered recipient, or their first click if no
  open came before it (a click proves the message was opened, images blocked or not).

This module imports nothing of the app: the models are built from it.
"""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

# SQL over the events table (aliased `e`): events a person caused, not a bot or scanner.
HUMAN = "NOT e.is_bot"
FIRST = "e.is_first"

# Channels whose messages are delivered to recipients (email CTR applies).
MAIL_CHANNELS = ("email", "ezine")
# Where a click can be set against page views: links on our own hub's pages (the hub
# link channel) and publications placed on this hub. Elsewhere (forums, other blogs,
# manual placements) nobody counts the views, so no click rate is shown.
HUB_LINK_CHANNELS = ("hub",)
HUB_PUBLICATION_KINDS = ("blog/wagtail_site",)


@dataclass(frozen=True)
class Metric:
    name: str
    # The column header on the dashboards; None for a metric counted but not shown.
    label: object = None
    # SQL condition over the events table (aliased `e`) selecting the events this
    # counter counts. Empty for a rate computed from the counters (RATES).
    counts: str = ""
    # What each such event adds: 1 (a count), or an SQL expression over `e` (a sum).
    adds: str = "1"
    # False: a counter the rollup's SQL does not count from `counts` (which then only
    # says what it counts); analytics.attribution adds to it instead.
    by_sql: bool = True


@dataclass(frozen=True)
class Rate:
    name: str
    label: object
    numerator: str
    denominator: str


# In the order the dashboards show them; the counters not shown come last.
METRICS = (
    Metric("sends", _("Sends"), f"e.kind = 'send' AND {FIRST}"),
    Metric("deliveries", _("Delivered"), f"e.kind = 'delivery' AND {FIRST}"),
    Metric("opens", _("Opens"), f"e.kind = 'open' AND {HUMAN}"),
    Metric(
        "unique_opens",
        _("Unique openers"),
        f"(e.kind = 'open' OR (e.kind = 'click' AND e.message_key <> '')) AND {HUMAN}"
        " AND e.is_first_open",
    ),
    Metric("clicks", _("Clicks"), f"e.kind = 'click' AND {HUMAN}"),
    Metric("unique_clicks", _("Unique clicks"), f"e.kind = 'click' AND {HUMAN} AND e.is_unique"),
    Metric(
        "unique_clickers",
        _("Unique clickers (email)"),
        f"e.kind = 'click' AND {HUMAN} AND {FIRST} AND e.message_key <> ''",
    ),
    Metric("email_ctr", _("Email CTR")),
    Metric("open_rate", _("Open rate")),
    Metric("click_to_open", _("Click-to-open")),
    Metric(
        "web_clickers",
        _("Clickers (hub pages)"),
        f"e.kind = 'click' AND {HUMAN} AND {FIRST} AND e.message_key = ''",
    ),
    Metric("web_click_rate", _("Web click rate")),
    Metric("unsubscribes", _("Unsubscribes"), f"e.kind = 'unsubscribe' AND {FIRST}"),
    Metric("unsubscribe_rate", _("Unsubscribe rate")),
    Metric("bounces", _("Bounces"), f"e.kind = 'bounce' AND {FIRST}"),
    Metric("bounce_rate", _("Bounce rate")),
    Metric("bot_clicks", _("Bot clicks (excluded)"), "e.kind = 'click' AND e.is_bot"),
    Metric("pageviews", _("Page views"), f"e.kind = 'pageview' AND {HUMAN}"),
    Metric(
        "organic_visits",
        _("Organic visits"),
        f"e.kind = 'pageview' AND {HUMAN} AND e.referrer_class = 'organic'",
    ),
    Metric("conversions", _("Conversions"), f"e.kind = 'conversion' AND {HUMAN}"),
    # Counted on the day (and in the row) of the click, when its first conversion is
    # rolled up: a human click that was the last click before a conversion.
    Metric(
        "converting_clicks",
        _("Converting clicks"),
        f"e.kind = 'conversion' AND {HUMAN} AND {FIRST}",
        by_sql=False,
    ),
    Metric("conversion_rate", _("Conversion rate")),
    # In hundredths of the currency unit (one currency per campaign: the goal's).
    Metric(
        "conversion_value",
        counts=f"e.kind = 'conversion' AND {HUMAN}",
        adds="e.value_cents",
    ),
    Metric("complaints", counts=f"e.kind = 'complaint' AND {FIRST}"),
    Metric("unique_visitors", counts=f"e.kind = 'pageview' AND {HUMAN} AND e.is_unique"),
)

# The rates: numerator / denominator, None ("—") when the denominator is 0. Every
# numerator counts a subset of its denominator's recipients (or visitors), so each rate
# lies in [0, 1]:
# - Email rates count the numerator in the period and the denominator up to the period's
#   end (`<counter>_to_date`, from the campaign's first day): a recipient who clicks in
#   the period was delivered before, perhaps before the period began.
# - `web_click_rate`'s denominator is the unique page views of the hub pages the clicks
#   were on (analytics.dashboards), on the same days (a visitor is one visitor per day).
RATES = (
    Rate("email_ctr", _("Email CTR"), "unique_clickers", "deliveries_to_date"),
    Rate("click_to_open", _("Click-to-open"), "unique_clickers", "unique_opens_to_date"),
    Rate("open_rate", _("Open rate"), "unique_opens", "deliveries_to_date"),
    Rate("unsubscribe_rate", _("Unsubscribe rate"), "unsubscribes", "deliveries_to_date"),
    Rate("bounce_rate", _("Bounce rate"), "bounces", "sends_to_date"),
    Rate("web_click_rate", _("Web click rate"), "web_clickers", "web_views"),
    # The human clicks of the period that were the last click before a conversion (each
    # counted once, on its own day and row) over the period's human clicks: each
    # numerator is one of the denominator's clicks, so the rate lies in [0, 1].
    Rate("conversion_rate", _("Conversion rate"), "converting_clicks", "clicks"),
)
# The counters some denominator needs up to the period's end.
TO_DATE = ("deliveries", "unique_opens", "sends")
RATE_NAMES = frozenset(rate.name for rate in RATES)

# The counters: one integer column each in every rollup table.
COUNTERS = tuple(metric for metric in METRICS if metric.counts)
SQL_COUNTERS = tuple(metric for metric in COUNTERS if metric.by_sql)
METRIC_FIELDS = tuple(metric.name for metric in COUNTERS)

# (name, header) of the metrics the dashboards' tables and CSV exports show.
METRIC_COLUMNS = [(metric.name, metric.label) for metric in METRICS if metric.label]


def ratio(numerator, denominator) -> float | None:
    """numerator / denominator, or None where it cannot be measured (denominator 0)."""
    if not denominator:
        return None
    return (numerator or 0) / denominator


def rates(row: dict) -> dict:
    """`row` (counter sums, plus `web_views` where known) with every rate added."""
    for rate in RATES:
        row[rate.name] = ratio(row.get(rate.numerator), row.get(rate.denominator))
    return row


def as_percent(value) -> str:
    """A rate as the dashboards show it: "12.5 %", or "—" where not measured."""
    if value is None:
        return "—"
    return f"{100.0 * value:.1f} %"
