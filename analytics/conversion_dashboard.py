"""The conversion widgets of the campaign dashboard: tiles, the funnel, the attribution
table per channel (every model side by side) and per content (the chosen model), and
the campaign's goals against what was reached. docs/metrics.md defines each figure.

Everything is read from the rollups: CampaignDailyRollup and DailyRollup (conversions,
converting clicks, clicks) through analytics.dashboards, and the credit rows written by
the rollup (analytics.attribution.credit, ConversionCredit); costs from campaigns.budget.
No raw event is scanned.

Money: conversion values are in the goals' currency, costs in the campaign's. Return on
spend divides one by the other only where every goal of the campaign counts in the
campaign's currency; otherwise, like any figure that cannot be measured, it is None
("—"). Cost per conversion and return on spend are None without a cost entered.
"""

import dataclasses
from decimal import Decimal

from django.db.models import F, Sum
from django.utils.translation import gettext_lazy as _

from . import dashboards
from .attribution import MODELS, credit, goal_totals, model_label
from .metrics import MAIL_CHANNELS, METRIC_FIELDS, TO_DATE, as_percent, rates, ratio
from .models import ConversionCredit, Goal

DEFAULT_MODEL = "last"
CENT = Decimal("0.01")
NO_CHANNEL = _("No tracked click")


def model_choices() -> list[tuple[str, object]]:
    return [(name, model_label(name)) for name in MODELS]


def clean_model(value) -> str:
    return value if value in MODELS else DEFAULT_MODEL


def money(cents) -> Decimal:
    return (Decimal(int(cents or 0)) / 100).quantize(CENT)


def _money_text(amount: Decimal | None, currency: str) -> str:
    return "—" if amount is None else f"{amount} {currency}"


@dataclasses.dataclass(frozen=True)
class Money:
    """The currencies a campaign's figures are in, and whether value and cost compare."""

    value_currency: str
    cost_currency: str

    @property
    def comparable(self) -> bool:
        return bool(self.value_currency) and self.value_currency == self.cost_currency


def currencies(campaign) -> Money:
    goals = set(Goal.objects.filter(campaign_id=campaign.pk).values_list("currency", flat=True))
    value_currency = goals.pop() if len(goals) == 1 else ("" if goals else campaign.currency)
    return Money(value_currency=value_currency, cost_currency=campaign.currency)


def cost_figures(conversions, value: Decimal, cost: Decimal | None, cur: Money) -> dict:
    """Cost per conversion and return on spend (docs/metrics.md), None where they
    cannot be measured: no cost entered, no conversion, a cost of 0, other currencies."""
    per = None
    if cost is not None and conversions:
        per = (cost / Decimal(repr(float(conversions)))).quantize(CENT)
    roas = None
    if cost and cur.comparable:
        roas = float(value / cost)
    return {"cost": cost, "cost_per_conversion": per, "roas": roas}


@dataclasses.dataclass(frozen=True)
class Costs:
    """The costs entered on a campaign's publications, read once per page."""

    by_channel: dict[str, Decimal]
    by_publication: dict[int, Decimal]

    @property
    def total(self) -> Decimal | None:
        return sum(self.by_channel.values(), Decimal(0)) if self.by_channel else None


def costs(flt, campaign_id: int) -> Costs:
    """By channel (of the chosen channels) and by publication; one query."""
    from campaigns.budget import publication_costs_by_channel

    by_publication, by_channel = publication_costs_by_channel(campaign_id)
    if flt.channels:
        by_channel = {c: v for c, v in by_channel.items() if c in flt.channels}
    return Costs(by_channel=by_channel, by_publication=by_publication)


# --- Tiles ----------------------------------------------------------------------------


def tiles(totals: dict, cur: Money, spent: Costs) -> list[tuple[str, str, str]]:
    """(name, header, value as shown) of the conversion tiles, from the campaign's
    totals (dashboards.campaign_totals)."""
    cost = spent.total
    value = money(totals.get("conversion_value"))
    figures = cost_figures(totals.get("conversions"), value, cost, cur)
    return [
        ("conversions", str(_("Conversions")), totals.get("conversions") or 0),
        ("conversion_rate", str(_("Conversion rate")), as_percent(totals.get("conversion_rate"))),
        ("conversion_value", str(_("Value")), _money_text(value, cur.value_currency or "")),
        ("cost", str(_("Cost")), _money_text(cost, cur.cost_currency)),
        (
            "cost_per_conversion",
            str(_("Cost per conversion")),
            _money_text(figures["cost_per_conversion"], cur.cost_currency),
        ),
        ("roas", str(_("Return on spend")), dashboards.shown("roas", figures["roas"])),
    ]


# --- Funnel ---------------------------------------------------------------------------


def funnel(by_channel: list[dict]) -> dict[str, list[dict]]:
    """{"email": steps, "other": steps} from the campaign's rows per channel
    (dashboards.campaign_by_channel; no query of its own); each step {key, label, count,
    rate, rate_text, rate_of}: delivered -> opened -> clicked -> converted for the mail
    channels, visited -> converted for the others. Each rate is the defined rate of
    that name, in [0, 1] (None: "—")."""
    out = {}
    mail = _summed([r for r in by_channel if r["channel"] in MAIL_CHANNELS])
    other = _summed([r for r in by_channel if r["channel"] not in MAIL_CHANNELS])
    if mail is not None:
        t = mail
        out["email"] = [
            _step("delivered", _("Delivered"), t["deliveries"], None, ""),
            _step("opened", _("Opened"), t["unique_opens"], t["open_rate"], _("Open rate")),
            _step(
                "clicked",
                _("Clicked"),
                t["unique_clickers"],
                t["click_to_open"],
                _("Click-to-open"),
            ),  # fmt: skip
            _step(
                "converted",
                _("Converted"),
                t["converting_clicks"],
                t["conversion_rate"],
                _("Conversion rate"),
            ),  # fmt: skip
        ]
    if other is not None:
        t = other
        out["other"] = [
            _step("visited", _("Visited (clicks)"), t["clicks"], None, ""),
            _step(
                "converted",
                _("Converted"),
                t["converting_clicks"],
                t["conversion_rate"],
                _("Conversion rate"),
            ),  # fmt: skip
        ]
    return out


def _summed(rows: list[dict]) -> dict | None:
    """The counters (and their to-date sums) of `rows` added up, with the rates of the
    sums; None for no rows."""
    if not rows:
        return None
    keys = [*METRIC_FIELDS, *(f"{m}_to_date" for m in TO_DATE)]
    total = {k: sum(r.get(k) or 0 for r in rows) for k in keys}
    return rates(total)


def _step(key, label, count, rate, rate_of) -> dict:
    return {
        "key": key,
        "label": str(label),
        "count": count or 0,
        "rate": rate,
        "rate_text": as_percent(rate) if rate_of else "",
        "rate_of": str(rate_of),
    }


# --- Attribution ------------------------------------------------------------------------


def _credits(flt, campaign_id: int, model: str):
    """analytics.attribution.credit, of the chosen channels."""
    rows = credit(campaign_id, flt.start, flt.end, model)
    if flt.channels:
        rows = [c for c in rows if c.channel in flt.channels]
    return rows


def attribution_by_channel(
    flt, campaign_id: int, model: str, cur: Money, by_channel: list[dict], spent: Costs
) -> list[dict]:
    """Per channel: its clicks and conversion rate (rollups: `by_channel`, the rows of
    dashboards.campaign_by_channel), the conversions credited to it under each model,
    and under `model` its value, cost, cost per conversion and return on spend. A row
    "no tracked click" holds the conversions no click led to.

    The credit rows are those analytics.attribution.credit sums, here summed per
    channel for every model in one query."""
    qs = ConversionCredit.objects.filter(
        campaign_id=campaign_id, day__gte=flt.start, day__lte=flt.end
    )
    if flt.channels:
        qs = qs.filter(channel__in=flt.channels)
    column = MODELS[model]
    credited = {
        r["channel"]: r
        for r in qs.values("channel").annotate(
            # Aliases unlike the columns: an annotation named like a column hides it.
            **{f"by_{name}": Sum(col) for name, col in MODELS.items()},
            cents=Sum(F(column) * F("value_cents")),
        )
    }
    rollup = {r["channel"]: r for r in by_channel}
    out = []
    keys = set(credited) | set(rollup) | set(spent.by_channel)
    for channel in sorted(keys, key=lambda c: (c == "", c)):
        row = credited.get(channel, {})
        r = rollup.get(channel, {})
        value = money(round(float(row.get("cents") or 0)))
        n = round(float(row.get(f"by_{model}") or 0), 6)
        out.append(
            {
                "channel": channel or str(NO_CHANNEL),
                "clicks": r.get("clicks") or 0,
                "conversion_rate": r.get("conversion_rate"),
                **{m: round(float(row.get(f"by_{m}") or 0), 2) for m in MODELS},
                "credited": round(n, 2),
                "value": value,
                **cost_figures(n, value, spent.by_channel.get(channel), cur),
            }
        )
    return out


def attribution_by_content(
    flt, campaign_id: int, model: str, cur: Money, spent: Costs
) -> list[dict]:
    """Per content (publication, or hub page for links on hub pages) under `model`:
    conversions credited, value, cost, cost per conversion and return on spend, with
    the content's conversion rate from the rollups; most credited first."""
    from wagtail.models import Page

    from campaigns.models import Publication

    grouped: dict[tuple, dict] = {}
    for c in _credits(flt, campaign_id, model):
        key = (c.publication_id, c.page_id if not c.publication_id else 0, c.channel)
        row = grouped.setdefault(key, {"credited": 0.0, "value": Decimal(0)})
        row["credited"] += c.conversions
        row["value"] += c.value
    pub_ids = [k[0] for k in grouped if k[0]]
    pubs = Publication.objects.select_related("page").in_bulk(pub_ids)
    pages = {p.pk: p.title for p in Page.objects.filter(pk__in=[k[1] for k in grouped if k[1]])}
    content_rates = _content_rates(flt, campaign_id, pub_ids)
    pub_costs = spent.by_publication
    out = []
    for (pub_id, page_id, channel), row in grouped.items():
        pub = pubs.get(pub_id)
        if pub is not None:
            title = pub.effective_title
        elif page_id:
            title = pages.get(page_id, f"#{page_id}")
        else:
            title = str(NO_CHANNEL)
        out.append(
            {
                "title": title,
                "channel": channel or str(NO_CHANNEL),
                "conversion_rate": content_rates.get(pub_id) if pub_id else None,
                "credited": round(row["credited"], 2),
                "value": row["value"],
                **cost_figures(row["credited"], row["value"], pub_costs.get(pub_id), cur),
            }
        )
    out.sort(key=lambda r: (-r["credited"], r["title"]))
    return out


def _content_rates(flt, campaign_id: int, pub_ids: list[int]) -> dict[int, float | None]:
    """{publication id: its conversion rate in the period} (analytics.metrics: its
    converting clicks / its human clicks, both counted on the click's day)."""
    if not pub_ids:
        return {}
    rows = (
        flt.daily(campaign_id=campaign_id, publication_id__in=pub_ids)
        .values("publication_id")
        .annotate(converting=Sum("converting_clicks"), clicks=Sum("clicks"))
    )
    return {r["publication_id"]: ratio(r["converting"], r["clicks"]) for r in rows}


# --- Goals ----------------------------------------------------------------------------


def goals_progress(flt, campaign_id: int) -> list[dict]:
    """Each goal of the campaign: its targets and what was reached in the period (all
    channels): conversions and value, and the share of each target reached (may pass
    100 %: not a rate)."""
    goals = list(Goal.objects.filter(campaign_id=campaign_id).order_by("pk"))
    if not goals:
        return []
    reached = goal_totals(campaign_id, flt.start, flt.end)
    out = []
    for goal in goals:
        count, value = reached.get(goal.pk, (0, Decimal("0.00")))
        out.append(
            {
                "name": goal.name,
                "kind": goal.get_kind_display(),
                "target_count": goal.target_count,
                "conversions": count,
                "count_progress": ratio(count, goal.target_count),
                "target_value": goal.target_value,
                "value": value,
                "value_progress": ratio(float(value), float(goal.target_value or 0)),
                "currency": goal.currency,
            }
        )
    return out
