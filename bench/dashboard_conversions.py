"""The conversions part of bench.dashboard: conversions at 1 % of the clicks, the
campaign dashboard's conversion widgets timed like the others, and conversions in the
rollup upkeep.

- Load: every bench campaign gets an external goal (a target of conversions and of
  value), a budget, and a cost on half its publications. While the events are written
  by COPY, one click in a hundred is followed by a conversion of its campaign's goal,
  a few minutes to a day later, carrying that click and the campaign's previous click
  (two touches: first, last and linear credit differ); each is its click's first
  conversion (is_first), placed on that click's channel, publication and link, as
  analytics.conversion_store stores them. The rollup build then credits them
  (analytics.attribution.credit_conversions), like a live rollup.
- Widgets: analytics.conversion_dashboard's tiles, funnel, attribution per channel and
  per content, goals, each timed cold and warm per sampled campaign.
- Upkeep: one conversion per hundred clicks inserted, linked to one of them.
"""

from __future__ import annotations

import datetime
import random
from decimal import Decimal

from django.db import connection

# The columns bench.dashboard writes for every event, then these (conversions only
# fill them; other events write the defaults).
CONVERSION_COLUMNS = ("goal_id", "value_cents", "currency", "click_ids", "is_first")
CONVERSION_SHARE = 0.01


def setup_goals_and_costs(campaigns, pubs) -> dict[int, int]:
    """One external goal per campaign, a budget, a cost on every other publication.
    Returns {campaign id: goal id}."""
    from analytics.models import Goal
    from campaigns.models import Campaign, Publication

    goals = Goal.objects.bulk_create(
        [
            Goal(
                campaign=c,
                name="bench order",
                kind=Goal.Kind.EXTERNAL,
                key=f"bench{c.pk:011d}",
                target_count=50,
                target_value=Decimal("5000"),
                currency="CNY",
            )
            for c in campaigns
        ]
    )
    Campaign.objects.filter(pk__in=[c.pk for c in campaigns]).update(budget=Decimal("2000"))
    Publication.objects.filter(pk__in=[p.pk for p in pubs[::2]]).update(cost=Decimal("250"))
    return {g.campaign_id: g.pk for g in goals}


class ConversionLines:
    """Wraps bench.dashboard.EventTargets: the same event lines with the conversion
    columns added, and a conversion line after 1 % of the clicks (drawn from its own
    random stream, so the other events are the ones bench.dashboard always drew)."""

    def __init__(self, targets, goals: dict[int, int], seed: int = 17):
        self.targets = targets
        self.goals = goals
        self.rng = random.Random(seed)
        self.last_click: dict[int, str] = {}
        self.conversions = 0

    def columns(self, event_columns) -> tuple[str, ...]:
        return (*event_columns, *CONVERSION_COLUMNS)

    def copy_line(self, i: int, rng: random.Random) -> str:
        line = self.targets.copy_line(i, rng)
        fields = line.rstrip("\n").split("\t")
        out = line.rstrip("\n") + "\t0\t0\t\t\tf\n"
        kind, campaign_id, is_bot = fields[1], int(fields[4]), fields[11] == "t"
        if kind != "click" or is_bot:
            return out
        uid = fields[0]
        previous = self.last_click.get(campaign_id)
        self.last_click[campaign_id] = uid
        if self.rng.random() >= CONVERSION_SHARE:
            return out
        self.conversions += 1
        clicked = datetime.datetime.fromisoformat(fields[2])
        at = clicked + datetime.timedelta(seconds=self.rng.randrange(300, 86400))
        touches = f"{previous} {uid}" if previous else uid
        conversion = [
            f"c{i:031x}",
            "conversion",
            at.isoformat(),
            at.isoformat(),
            str(campaign_id),
            *fields[5:9],  # channel, publication, page, link of the click
            f"click:{uid}",
            fields[10],
            "f",
            "",
            "f",
            "",
            "",
            "",
            "Mozilla/5.0",
            str(self.goals.get(campaign_id, 0)),
            str(self.rng.randrange(1000, 100000)),
            "CNY",
            touches,
            "t",
        ]
        return out + "\t".join(conversion) + "\n"


def clear():
    from analytics.models import ConversionCredit

    ConversionCredit.objects.all().delete()


def widgets(flt, base: dict) -> dict:
    """`base` (bench.dashboard's widgets) and the conversion widgets after them, each
    {name: fn(campaign id)}, called as the campaign page calls them: on the rows the
    page's "totals" and "by_channel" widgets have just read (timed there, and kept here
    for the conversion widgets), with the campaign's currencies and costs read once
    (timed as "conversion_costs")."""
    from analytics import conversion_dashboard as conv
    from campaigns.models import Campaign

    read: dict[tuple, object] = {}

    def keep(name, fn):
        def run(cid):
            read[(name, cid)] = fn(cid)
            return read[(name, cid)]

        return run

    def costs(cid):
        campaign = Campaign.objects.get(pk=cid)
        read[("cur", cid)] = conv.currencies(campaign)
        read[("spent", cid)] = conv.costs(flt, cid)

    def tiles(cid):
        return conv.tiles(read[("totals", cid)], read[("cur", cid)], read[("spent", cid)])

    def by_channel(cid):
        return conv.attribution_by_channel(
            flt, cid, "linear", read[("cur", cid)], read[("by_channel", cid)], read[("spent", cid)]
        )

    def by_content(cid):
        return conv.attribution_by_content(
            flt, cid, "linear", read[("cur", cid)], read[("spent", cid)]
        )

    return {
        **{
            name: keep(name, fn) if name in ("totals", "by_channel") else fn
            for name, fn in base.items()
        },
        "conversion_costs": costs,
        "conversion_tiles": tiles,
        "conversion_funnel": lambda cid: conv.funnel(read[("by_channel", cid)]),
        "attribution_by_channel": by_channel,
        "attribution_by_content": by_content,
        "goals_progress": lambda cid: conv.goals_progress(flt, cid),
    }


def upkeep_conversions(clicks, rng: random.Random, goals: dict[int, int]):
    """One conversion per hundred of the `clicks` just made (Event objects), each
    linked to one of them, as the store would write it."""
    from analytics.models import Event

    out = []
    for click in clicks[:: int(1 / CONVERSION_SHARE)]:
        out.append(
            Event(
                uid=f"cv{click.uid[2:]}",
                kind="conversion",
                occurred_at=click.occurred_at,
                received_at=click.received_at,
                campaign_id=click.campaign_id,
                channel=click.channel,
                publication_id=click.publication_id,
                link_id=click.link_id,
                message_key=f"click:{click.uid}",
                visitor_hash=click.visitor_hash,
                is_first=True,
                goal_id=goals.get(click.campaign_id, 0),
                value_cents=rng.randrange(1000, 100000),
                currency="CNY",
                click_ids=click.uid,
            )
        )
    return out


def goals_by_campaign() -> dict[int, int]:
    from analytics.models import Goal

    return dict(
        Goal.objects.filter(campaign__slug__startswith="bench-dash-").values_list(
            "campaign_id", "pk"
        )
    )


def analyze():
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE analytics_conversioncredit")
