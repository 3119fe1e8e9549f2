"""Attribution: which channel, content and link earned each conversion.

When the rollup counts a conversion (analytics.rollups.update_rollups, after the
scanner re-flagging window, so bot flags are final) it credits the clicks that led to
it, pre-computed for every model, into ConversionCredit rows:

- first touch: the whole conversion to the first human click of the goal's campaign
  within the attribution window (ANALYTICS_ATTRIBUTION_WINDOW_DAYS, 30 by default);
- last touch: the whole conversion to the last one;
- linear: 1/n to each of the n clicks (two clicks on one link earn it 2/n).

A conversion with no such click is credited whole to "no channel" under every model,
so each model's credits add up to the campaign's conversions. Bot clicks never earn
credit. The dashboards read `credit`, which sums the campaign's rows over its days
(an index on campaign and day): no click is scanned at dashboard time.

Public contract: MODELS, Credit, credit(campaign_id, start, end, model),
goal_totals(campaign_id, start, end) (each goal's conversions and value, for its targets),
credit_conversions(after_id, upto_id) (the rollup calls it), model_label(model).
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import F, Sum
from django.utils.translation import gettext_lazy as _

from .conversion_store import clicks_by_uid, touches
from .models import ConversionCredit, Event

# Model name -> the ConversionCredit column holding its weights.
MODELS = {"first": "first_touch", "last": "last_touch", "linear": "linear"}
MODEL_LABELS = {"first": _("First touch"), "last": _("Last touch"), "linear": _("Linear")}
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class Credit:
    """What one touch point earned over a period under one model: conversions may be
    fractional (linear), value is in the campaign's currency. An empty channel with
    zero ids is the conversions no click led to."""

    channel: str
    publication_id: int
    page_id: int
    link_id: int
    conversions: float
    value: Decimal


def model_label(model: str):
    return MODEL_LABELS[model]


def credit(campaign_id: int, start: datetime.date, end: datetime.date, model: str) -> list[Credit]:
    """The campaign's conversions from `start` to `end` (UTC days, both included) credited
    per channel, publication, content (page) and link under `model` ("first", "last" or
    "linear"), most credited first. Raises ValueError for another model."""
    column = MODELS.get(model)
    if column is None:
        raise ValueError(f"unknown attribution model {model!r}; one of {sorted(MODELS)}")
    rows = (
        ConversionCredit.objects.filter(campaign_id=campaign_id, day__gte=start, day__lte=end)
        .filter(**{f"{column}__gt": 0})
        .values("channel", "publication_id", "page_id", "link_id")
        .annotate(conversions=Sum(column), value=Sum(F(column) * F("value_cents")))
        .order_by()
    )
    credits = [
        Credit(
            channel=row["channel"],
            publication_id=row["publication_id"],
            page_id=row["page_id"],
            link_id=row["link_id"],
            conversions=round(float(row["conversions"] or 0), 6),
            value=(Decimal(repr(float(row["value"] or 0))) / 100).quantize(_CENT),
        )
        for row in rows
    ]
    credits.sort(key=lambda c: (-c.conversions, c.channel, c.link_id, c.page_id))
    return credits


def goal_totals(campaign_id: int, start: datetime.date, end: datetime.date) -> dict[int, tuple]:
    """{goal id: (conversions, value)} of the campaign's human conversions from `start`
    to `end`, what each goal reached against its targets (Goal.target_count,
    target_value). Read from the credit rows (any model's weights add up to 1 per
    conversion), so a goal with no conversion is absent."""
    rows = (
        ConversionCredit.objects.filter(campaign_id=campaign_id, day__gte=start, day__lte=end)
        .values("goal_id")
        .annotate(conversions=Sum("last_touch"), value=Sum(F("last_touch") * F("value_cents")))
        .order_by()
    )
    return {
        row["goal_id"]: (
            round(float(row["conversions"] or 0)),
            (Decimal(repr(float(row["value"] or 0))) / 100).quantize(_CENT),
        )
        for row in rows
    }


def weights(found: list[dict]) -> dict[tuple, list[float]]:
    """{(channel, publication, page, link): [first, last, linear]} for the touches of one
    conversion (oldest first); one "no channel" key when there are none."""
    if not found:
        return {("", 0, 0, 0): [1.0, 1.0, 1.0]}
    share = 1.0 / len(found)
    credited: dict[tuple, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for index, click in enumerate(found):
        key = (click["channel"], click["publication_id"], click["page_id"], click["link_id"])
        credited[key][0] += 1.0 if index == 0 else 0.0
        credited[key][1] += 1.0 if index == len(found) - 1 else 0.0
        credited[key][2] += share
    return dict(credited)


def credit_conversions(after_id: int, upto_id: int) -> list[dict]:
    """Write the credit rows of the human conversions with after_id < id <= upto_id
    (idempotent: a row already written is kept). Returns the converting clicks: the
    last human click of each conversion marked first for it (analytics.conversion_store),
    still human now that its flags are final, for the rollup to count on its own day."""
    conversions = list(
        Event.objects.filter(id__gt=after_id, id__lte=upto_id, kind="conversion", is_bot=False)
        .only(
            "id",
            "occurred_at",
            "campaign_id",
            "goal_id",
            "click_ids",
            "value_cents",
            "is_first",
            "message_key",
        )
        .order_by()
    )
    if not conversions:
        return []
    clicks = clicks_by_uid(uid for c in conversions for uid in c.click_ids.split())
    rows, converting = [], []
    for conversion in conversions:
        day = conversion.occurred_at.astimezone(datetime.UTC).date()
        found = touches(conversion, clicks)
        if conversion.is_first and found and conversion.message_key == f"click:{found[-1]['uid']}":
            converting.append(found[-1])
        for (channel, publication_id, page_id, link_id), (first, last, linear) in weights(
            found
        ).items():
            rows.append(
                ConversionCredit(
                    conversion_id=conversion.pk,
                    day=day,
                    campaign_id=conversion.campaign_id,
                    goal_id=conversion.goal_id,
                    channel=channel,
                    publication_id=publication_id,
                    page_id=page_id,
                    link_id=link_id,
                    first_touch=first,
                    last_touch=last,
                    linear=linear,
                    value_cents=conversion.value_cents,
                )
            )
    ConversionCredit.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    return converting
