"""A campaign's budget against what its placements cost (read-only).

Costs are entered on publications (a paid ad slot, a sponsored post, a manual placement)
in the campaign's currency. What a campaign has spent is the sum of the costs entered on
its publications that were not cancelled; a publication with no cost entered adds
nothing (it is counted as "no cost entered", not as free). Nothing here refuses a cost
over the budget: the campaign page, the dashboard and the save message say so instead
(`over_budget`), so a total over the budget is never silent.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q, Sum

from .models import Campaign, Publication

CENT = Decimal("0.01")


def _money(value) -> Decimal | None:
    """An amount to the cent (SQLite sums decimals as floats)."""
    return None if value is None else Decimal(str(value)).quantize(CENT)


@dataclass(frozen=True)
class Spend:
    currency: str
    budget: Decimal | None
    # The sum of the costs entered; None when no publication has a cost entered.
    spent: Decimal | None
    costed: int  # publications with a cost entered

    @property
    def remaining(self) -> Decimal | None:
        if self.budget is None:
            return None
        return self.budget - (self.spent or Decimal(0))

    @property
    def over_budget(self) -> bool:
        return self.budget is not None and (self.spent or Decimal(0)) > self.budget

    @property
    def over_by(self) -> Decimal | None:
        return -self.remaining if self.over_budget else None

    @property
    def used(self) -> float | None:
        """Share of the budget spent (may pass 1 when over budget); None without one."""
        if not self.budget:
            return None
        return float((self.spent or Decimal(0)) / self.budget)


def _counted(campaign_id: int):
    return Publication.objects.filter(campaign_id=campaign_id).exclude(
        status=Publication.Status.CANCELLED
    )


def campaign_spend(campaign: Campaign) -> Spend:
    row = _counted(campaign.pk).aggregate(
        spent=Sum("cost"), costed=Count("pk", filter=Q(cost__isnull=False))
    )
    return Spend(
        currency=campaign.currency,
        budget=campaign.budget,
        spent=_money(row["spent"]),
        costed=row["costed"],
    )


def publication_costs_by_channel(
    campaign_id: int,
) -> tuple[dict[int, Decimal], dict[str, Decimal]]:
    """({publication id: its cost}, {channel family: the costs entered on it}) of the
    counted publications with a cost entered; one query."""
    rows = (
        _counted(campaign_id)
        .filter(cost__isnull=False)
        .values_list("pk", "channel_account__kind", "cost")
    )
    by_pub: dict[int, Decimal] = {}
    by_channel: dict[str, Decimal] = {}
    for pk, kind, cost in rows:
        channel = (kind or "").split("/", 1)[0]
        by_pub[pk] = _money(cost)
        by_channel[channel] = by_channel.get(channel, Decimal(0)) + by_pub[pk]
    return by_pub, by_channel
