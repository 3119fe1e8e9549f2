"""Dashboard queries. Every widget reads the rollup tables (DailyRollup, HourlyRollup,
CampaignDailyRollup, SearchQueryDaily) plus small lookups of names; none scans raw
events. The SEO section's queries live in analytics.seo_dashboard.

Each function takes a `DashboardFilter` and returns plain lists of dicts, used for both
the HTML tables, the chart data and the CSV export.
"""

import datetime
from dataclasses import dataclass, field

from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import seo_dashboard
from .metrics import METRIC_FIELDS
from .models import (
    CampaignDailyRollup,
    DailyRollup,
    HourlyRollup,
    TrackedLink,
)

CHANNELS = [
    ("email", _("Email")),
    ("ezine", _("E-zine")),
    ("blog", _("Blog")),
    ("forum", _("Forum")),
    ("manual", _("Manual placement")),
    # Outbound links on the hub's own pages (analytics.hub_links).
    ("hub", _("Hub pages")),
]


@dataclass
class DashboardFilter:
    start: datetime.date
    end: datetime.date
    channels: list[str] = field(default_factory=list)

    @classmethod
    def default(cls, days: int = 30) -> "DashboardFilter":
        today = timezone.now().date()
        return cls(start=today - datetime.timedelta(days=days - 1), end=today)

    def daily(self, **filters):
        return self._in_range(DailyRollup.objects.filter(**filters))

    def campaign_daily(self):
        """Per campaign and channel only: what the cross-campaign overview reads."""
        return self._in_range(CampaignDailyRollup.objects.exclude(campaign_id=0))

    def _in_range(self, qs):
        qs = qs.filter(day__gte=self.start, day__lte=self.end)
        if self.channels:
            qs = qs.filter(channel__in=self.channels)
        return qs


def _sums():
    return {m: Sum(m) for m in METRIC_FIELDS}


def _with_rates(row: dict) -> dict:
    for m in METRIC_FIELDS:
        row[m] = row.get(m) or 0
    # Click-through rate: unique clicks per delivered message where there are
    # deliveries (email, e-zine); per page view for web channels.
    base = row["deliveries"] or row["pageviews"]
    row["ctr"] = round(100.0 * row["unique_clicks"] / base, 2) if base else None
    row["open_rate"] = (
        round(100.0 * row["unique_opens"] / row["deliveries"], 2) if row["deliveries"] else None
    )
    return row


def campaign_totals(flt: DashboardFilter, campaign_id: int) -> dict:
    return _with_rates(flt.daily(campaign_id=campaign_id).aggregate(**_sums()))


def campaign_by_channel(flt: DashboardFilter, campaign_id: int) -> list[dict]:
    rows = (
        flt.daily(campaign_id=campaign_id).values("channel").annotate(**_sums()).order_by("channel")
    )
    return [_with_rates(dict(r)) for r in rows]


def campaign_over_time(flt: DashboardFilter, campaign_id: int) -> list[dict]:
    """Per day; per hour when the range is two days or less."""
    if (flt.end - flt.start).days <= 1:
        start = datetime.datetime.combine(flt.start, datetime.time(), tzinfo=datetime.UTC)
        qs = HourlyRollup.objects.filter(
            campaign_id=campaign_id,
            hour__gte=start,
            hour__lt=start + datetime.timedelta(days=(flt.end - flt.start).days + 1),
        )
        if flt.channels:
            qs = qs.filter(channel__in=flt.channels)
        rows = qs.values(bucket=F("hour")).annotate(**_sums()).order_by("bucket")
        return [_with_rates({**r, "bucket": r["bucket"].strftime("%Y-%m-%d %H:00")}) for r in rows]
    rows = (
        flt.daily(campaign_id=campaign_id)
        .values(bucket=F("day"))
        .annotate(**_sums())
        .order_by("bucket")
    )
    return [_with_rates({**r, "bucket": r["bucket"].isoformat()}) for r in rows]


def top_publications(flt: DashboardFilter, campaign_id: int, limit: int = 10) -> list[dict]:
    from campaigns.models import Publication

    rows = list(
        flt.daily(campaign_id=campaign_id)
        .exclude(publication_id=0)
        .values("publication_id", "channel")
        .annotate(**_sums())
        .order_by("-clicks", "-opens", "publication_id")[:limit]
    )
    names = {
        p.pk: p
        for p in Publication.objects.filter(
            pk__in=[r["publication_id"] for r in rows]
        ).select_related("page", "channel_account")
    }
    out = []
    for r in rows:
        pub = names.get(r["publication_id"])
        r["title"] = (pub.title_override or pub.page.title) if pub else f"#{r['publication_id']}"
        r["account"] = pub.channel_account.name if pub else ""
        out.append(_with_rates(dict(r)))
    return out


def top_links(flt: DashboardFilter, campaign_id: int, limit: int = 10) -> list[dict]:
    rows = list(
        flt.daily(campaign_id=campaign_id)
        .exclude(link_id=0)
        .values("link_id", "channel")
        .annotate(
            clicks=Sum("clicks"), unique_clicks=Sum("unique_clicks"), bot_clicks=Sum("bot_clicks")
        )
        .order_by("-clicks", "link_id")[:limit]
    )
    links = TrackedLink.objects.in_bulk([r["link_id"] for r in rows])
    for r in rows:
        link = links.get(r["link_id"])
        r["url"] = link.original_url if link else ""
        r["label"] = link.label if link else ""
        r["code"] = link.code if link else ""
    return rows


def campaign_page_ids(campaign_id: int) -> list[int]:
    from campaigns.models import Publication

    return list(
        Publication.objects.filter(campaign_id=campaign_id)
        .values_list("page_id", flat=True)
        .distinct()
    )


def seo_section(flt: DashboardFilter, campaign_id: int) -> dict:
    """The campaign's SEO section (analytics.seo_dashboard): per content page its
    latest score and top hints, organic visits by engine and top search queries, with
    the columns that can be filled in the period."""
    from wagtail.models import Page

    page_ids = campaign_page_ids(campaign_id)
    titles = {pk: page.title for pk, page in Page.objects.in_bulk(page_ids).items()}
    return seo_dashboard.seo_section(flt.start, flt.end, page_ids, titles)


def seo_table(flt: DashboardFilter, campaign_id: int) -> tuple[list, list[dict]]:
    """(columns, rows) of the SEO section, for its CSV."""
    section = seo_section(flt, campaign_id)
    return section["columns"], section["rows"]


def seo_trend(campaign_id: int) -> list[dict]:
    """Average SEO score of the campaign's pages per day a revision was analysed."""
    return seo_dashboard.seo_trend(campaign_page_ids(campaign_id))


def schedule(campaign_id: int) -> list[dict]:
    from campaigns.models import Publication

    return [
        {
            "publication_id": p.pk,
            "title": p.title_override or p.page.title,
            "channel": p.channel_account.channel,
            "account": p.channel_account.name,
            "publish_at": p.publish_at,
            "status": p.get_status_display(),
            "status_code": p.status,
            "public_url": p.public_url,
        }
        for p in Publication.objects.filter(campaign_id=campaign_id)
        .select_related("page", "channel_account")
        .order_by("publish_at", "pk")
    ]


# --- Leadership overview ------------------------------------------------------------------


def campaigns_compared(flt: DashboardFilter) -> list[dict]:
    from campaigns.models import Campaign

    rows = list(flt.campaign_daily().values("campaign_id").annotate(**_sums()))
    names = Campaign.objects.in_bulk([r["campaign_id"] for r in rows])
    out = []
    for r in rows:
        campaign = names.get(r["campaign_id"])
        r["name"] = campaign.name if campaign else f"#{r['campaign_id']}"
        r["status"] = campaign.get_status_display() if campaign else ""
        out.append(_with_rates(dict(r)))
    out.sort(key=lambda r: (-r["clicks"], r["name"]))
    return out


def channel_mix(flt: DashboardFilter) -> list[dict]:
    rows = flt.campaign_daily().values("channel").annotate(**_sums()).order_by("channel")
    return [_with_rates(dict(r)) for r in rows]


def overall_trend(flt: DashboardFilter) -> list[dict]:
    rows = flt.campaign_daily().values(bucket=F("day")).annotate(**_sums()).order_by("bucket")
    return [_with_rates({**r, "bucket": r["bucket"].isoformat()}) for r in rows]


def best_and_worst(compared: list[dict], n: int = 5, min_base: int = 50):
    """By click-through rate among campaigns with enough volume to compare fairly."""
    ranked = [
        r
        for r in compared
        if r["ctr"] is not None and (r["deliveries"] or r["pageviews"]) >= min_base
    ]
    ranked.sort(key=lambda r: (-r["ctr"], r["name"]))
    best = ranked[:n]
    worst = [r for r in reversed(ranked) if r not in best][:n]
    return best, worst
