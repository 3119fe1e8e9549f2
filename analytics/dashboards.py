"""Dashboard queries. Every widget reads the rollup tables (CampaignDailyRollup,
DailyRollup, HourlyRollup, SearchQueryDaily) plus small lookups of names; none scans raw
events. The SEO section's queries live in analytics.seo_dashboard.

Each function takes a `DashboardFilter` and returns plain lists of dicts, used for both
the HTML tables, the chart data and the CSV export. Every rate is computed by
analytics.metrics.rates from counters of the same rows, per channel: a campaign's email
CTR divides its email clickers by its email deliveries, and its web click rate divides
its clickers on hub pages by those pages' unique page views (`_web_views`); no figure
divides one channel's clicks by another's deliveries.

Campaign totals, a campaign's channels and the overview all read CampaignDailyRollup
(per day, campaign and channel), so they agree by construction; publications, links and
pages come from DailyRollup, written in the same transaction.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import seo_dashboard
from .metrics import (
    HUB_LINK_CHANNELS,
    HUB_PUBLICATION_KINDS,
    MAIL_CHANNELS,
    METRIC_FIELDS,
    RATE_NAMES,
    TO_DATE,
    as_percent,
    rates,
)
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
# The longest range a filter may cover (the form says so; a campaign's own dates are cut).
MAX_RANGE_DAYS = 366


def channel_name(code: str) -> str:
    """A channel's name in the reader's language (the code itself for one we do not
    know, e.g. a hand-made link's source)."""
    return str(dict(CHANNELS).get(code, code))


def shown(key: str, value):
    """A table cell or KPI as the dashboards show it: rates (and a goal's share of its
    target) as percentages, return on spend as a multiple, "—" where not measured (no
    cost entered), channel codes as names."""
    if key in RATE_NAMES or key in ("rank_rate", "count_progress", "value_progress"):
        return as_percent(value)
    if key == "roas":
        return "—" if value is None else f"{value:.2f}×"
    if key in ("cost", "cost_per_conversion") and value is None:
        return "—"
    if key == "channel" and isinstance(value, str):
        return channel_name(value)
    return value


@dataclass
class DashboardFilter:
    start: datetime.date
    end: datetime.date
    channels: list[str] = field(default_factory=list)

    @classmethod
    def default(cls, days: int = 30) -> "DashboardFilter":
        today = timezone.now().date()
        return cls(start=today - datetime.timedelta(days=days - 1), end=today)

    @classmethod
    def for_campaign(cls, campaign, today: datetime.date | None = None) -> "DashboardFilter":
        """The campaign's own dates: its start to its end, or to today while it runs
        (the campaign's dates, and so today, are the reader's calendar days)."""
        today = today or timezone.localdate()
        start, end = campaign.start_date, campaign.end_date
        if start <= today < end:
            end = today
        start = max(start, end - datetime.timedelta(days=MAX_RANGE_DAYS - 1))
        return cls(start=start, end=end)

    def daily(self, **filters):
        return self._in_range(DailyRollup.objects.filter(**filters))

    def campaign_daily(self, **filters):
        """Per campaign and channel only: what campaign totals and the overview read."""
        return self._in_range(CampaignDailyRollup.objects.exclude(campaign_id=0).filter(**filters))

    def campaign_daily_to_date(self, **filters):
        """CampaignDailyRollup from the first day up to the period's end: the email
        rates' denominators (analytics.metrics.RATES)."""
        qs = CampaignDailyRollup.objects.exclude(campaign_id=0).filter(day__lte=self.end, **filters)
        return qs.filter(channel__in=self.channels) if self.channels else qs

    def _in_range(self, qs):
        qs = qs.filter(day__gte=self.start, day__lte=self.end)
        if self.channels:
            qs = qs.filter(channel__in=self.channels)
        return qs


def _sums():
    return {m: Sum(m) for m in METRIC_FIELDS}


def _with_rates(row: dict, web_views: int | None = 0, to_date: dict | None = None) -> dict:
    for m in METRIC_FIELDS:
        row[m] = row.get(m) or 0
    row["web_views"] = web_views or 0
    for m in TO_DATE:
        row[f"{m}_to_date"] = (to_date or {}).get(m) or 0
    return rates(row)


def _to_date(qs, keys: tuple[str, ...] = ()) -> dict:
    """{key: the TO_DATE counters' sums} of `qs` grouped by `keys`."""
    sums = {m: Sum(m) for m in TO_DATE}
    if not keys:
        return {(): qs.aggregate(**sums)}
    return {tuple(r[k] for k in keys): r for r in qs.values(*keys).annotate(**sums)}


def _campaign_sums(flt: "DashboardFilter", keys: tuple[str, ...] = (), **filters) -> list[dict]:
    """CampaignDailyRollup grouped by `keys`: the counters over the period and the
    TO_DATE counters up to its end, in one scan (before the period only the mail
    channels' rows: only their rates look back). Each row's `to_date` holds the latter."""
    in_period = Q(day__gte=flt.start)
    qs = (
        CampaignDailyRollup.objects.exclude(campaign_id=0)
        .filter(day__lte=flt.end, **filters)
        .filter(in_period | Q(channel__in=MAIL_CHANNELS))
    )
    if flt.channels:
        qs = qs.filter(channel__in=flt.channels)
    # Aliases unlike the columns: an annotation named like a column hides it.
    sums = {f"period_{m}": Sum(m, filter=in_period) for m in METRIC_FIELDS}
    sums |= {f"to_date_{m}": Sum(m) for m in TO_DATE}
    if keys:
        rows = list(qs.values(*keys).annotate(**sums, in_period=Count("pk", filter=in_period)))
        rows = [r for r in rows if r.pop("in_period")]
    else:
        rows = [qs.aggregate(**sums)]
    for row in rows:
        row.update({m: row.pop(f"period_{m}") for m in METRIC_FIELDS})
        row["to_date"] = {m: row.pop(f"to_date_{m}") for m in TO_DATE}
    return rows


def _by_channel(row: dict) -> str:
    return row["channel"]


def _running_to_date(rows: list[dict], before: dict) -> list[dict]:
    """Per bucket, in order: the TO_DATE counters up to and including it."""
    running = {m: before.get(m) or 0 for m in TO_DATE}
    out = []
    for row in rows:
        for m in TO_DATE:
            running[m] += row.get(m) or 0
        out.append(dict(running))
    return out


# --- Web click rate: clickers on hub pages per unique view of those pages ----------------


def _channel_of(kind: str) -> str:
    return (kind or "").split("/", 1)[0]


def _measured_pages(flt: DashboardFilter, keys: tuple[str, ...], **filters) -> dict:
    """{key: hub page ids} for the rows matching `filters`, key being the values of
    `keys` (campaign_id, channel, publication_id): the pages of every row with a web
    clicker, of every hub link, and of every publication placed on this hub (measured
    even before its first click)."""
    from campaigns.models import Publication

    hub_publications = Publication.objects.filter(
        channel_account__kind__in=HUB_PUBLICATION_KINDS, **filters
    )
    pages: dict[tuple, set[int]] = defaultdict(set)
    # The few campaigns with clicks on hub content, found in the small per-campaign table
    # before their detailed rows are read.
    web = Q(web_clickers__gt=0) | Q(channel__in=HUB_LINK_CHANNELS)
    campaigns = set(
        flt.campaign_daily(**filters).filter(web).values_list("campaign_id", flat=True).distinct()
    )
    if campaigns:
        rows = (
            flt.daily(**filters)
            .filter(web, campaign_id__in=campaigns)
            .exclude(page_id=0)
            .values(*keys, "page_id")
            .distinct()
        )
        for row in rows:
            pages[tuple(row[k] for k in keys)].add(row["page_id"])
    for pub in hub_publications.values("pk", "campaign_id", "page_id", "channel_account__kind"):
        values = {
            "campaign_id": pub["campaign_id"],
            "publication_id": pub["pk"],
            "channel": _channel_of(pub["channel_account__kind"]),
        }
        if flt.channels and values["channel"] not in flt.channels:
            continue
        pages[tuple(values[k] for k in keys)].add(pub["page_id"])
    return pages


def _web_views(flt: DashboardFilter, pages: dict) -> dict:
    """{key: unique page views of its pages in the period} (all channels: page views
    belong to the page, not to a campaign's channel)."""
    wanted = set().union(*pages.values()) if pages else set()
    if not wanted:
        return {}
    # Page views carry no campaign, publication or link (the beacon knows only the page).
    views = dict(
        DailyRollup.objects.filter(
            page_id__in=wanted, day__gte=flt.start, day__lte=flt.end, campaign_id=0, link_id=0
        )
        .values("page_id")
        .annotate(v=Sum("unique_visitors"))
        .values_list("page_id", "v")
    )
    return {key: sum(views.get(p) or 0 for p in ids) for key, ids in pages.items()}


# --- One campaign -------------------------------------------------------------------------


def campaign_totals(flt: DashboardFilter, campaign_id: int) -> dict:
    (row,) = _campaign_sums(flt, campaign_id=campaign_id)
    views = _web_views(flt, _measured_pages(flt, (), campaign_id=campaign_id))
    return _with_rates(row, views.get(()), row.pop("to_date"))


def campaign_by_channel(flt: DashboardFilter, campaign_id: int) -> list[dict]:
    rows = sorted(_campaign_sums(flt, ("channel",), campaign_id=campaign_id), key=_by_channel)
    views = _web_views(flt, _measured_pages(flt, ("channel",), campaign_id=campaign_id))
    return [_with_rates(r, views.get((r["channel"],)), r.pop("to_date")) for r in rows]


def campaign_over_time(flt: DashboardFilter, campaign_id: int) -> list[dict]:
    """Per day; per hour when the range is two days or less. Email rates per bucket; the
    web click rate is not split by day ("—")."""
    if (flt.end - flt.start).days <= 1:
        start = datetime.datetime.combine(flt.start, datetime.time(), tzinfo=datetime.UTC)
        qs = HourlyRollup.objects.filter(
            campaign_id=campaign_id,
            hour__gte=start,
            hour__lt=start + datetime.timedelta(days=(flt.end - flt.start).days + 1),
        )
        if flt.channels:
            qs = qs.filter(channel__in=flt.channels)
        rows = list(qs.values(bucket=F("hour")).annotate(**_sums()).order_by("bucket"))
        for r in rows:
            r["bucket"] = r["bucket"].strftime("%Y-%m-%d %H:00")
    else:
        rows = list(
            flt.campaign_daily(campaign_id=campaign_id)
            .values(bucket=F("day"))
            .annotate(**_sums())
            .order_by("bucket")
        )
        for r in rows:
            r["bucket"] = r["bucket"].isoformat()
    before = _to_date(
        flt.campaign_daily_to_date(campaign_id=campaign_id).filter(day__lt=flt.start)
    )[()]
    to_date = _running_to_date(rows, before)
    return [_with_rates(r, None, t) for r, t in zip(rows, to_date, strict=True)]


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
    views = _web_views(
        flt, _measured_pages(flt, ("publication_id", "channel"), campaign_id=campaign_id)
    )
    to_date = _to_date(
        DailyRollup.objects.filter(
            campaign_id=campaign_id,
            publication_id__in=[r["publication_id"] for r in rows],
            day__lte=flt.end,
        ),
        ("publication_id", "channel"),
    )
    out = []
    for r in rows:
        pub = names.get(r["publication_id"])
        r["title"] = (pub.title_override or pub.page.title) if pub else f"#{r['publication_id']}"
        r["account"] = pub.channel_account.name if pub else ""
        key = (r["publication_id"], r["channel"])
        out.append(_with_rates(dict(r), views.get(key), to_date.get(key)))
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

    rows = _campaign_sums(flt, ("campaign_id",))
    names = Campaign.objects.in_bulk([r["campaign_id"] for r in rows])
    views = _web_views(flt, _measured_pages(flt, ("campaign_id",), campaign_id__gt=0))
    out = []
    for r in rows:
        campaign = names.get(r["campaign_id"])
        r["name"] = campaign.name if campaign else f"#{r['campaign_id']}"
        r["status"] = campaign.get_status_display() if campaign else ""
        out.append(_with_rates(r, views.get((r["campaign_id"],)), r.pop("to_date")))
    out.sort(key=lambda r: (-r["clicks"], r["name"]))
    return out


def overview_totals(flt: DashboardFilter) -> dict:
    """Every campaign together: the sums of `campaigns_compared` and of `channel_mix`."""
    (row,) = _campaign_sums(flt)
    views = _web_views(flt, _measured_pages(flt, (), campaign_id__gt=0))
    return _with_rates(row, views.get(()), row.pop("to_date"))


def channel_mix(flt: DashboardFilter) -> list[dict]:
    rows = sorted(_campaign_sums(flt, ("channel",)), key=_by_channel)
    views = _web_views(flt, _measured_pages(flt, ("channel",), campaign_id__gt=0))
    return [_with_rates(r, views.get((r["channel"],)), r.pop("to_date")) for r in rows]


def overall_trend(flt: DashboardFilter) -> list[dict]:
    rows = list(flt.campaign_daily().values(bucket=F("day")).annotate(**_sums()).order_by("bucket"))
    before = _to_date(flt.campaign_daily_to_date().filter(day__lt=flt.start))[()]
    to_date = _running_to_date(rows, before)
    return [
        _with_rates({**r, "bucket": r["bucket"].isoformat()}, None, t)
        for r, t in zip(rows, to_date, strict=True)
    ]


def ranking_rate(row: dict) -> tuple[str, float] | None:
    """What a campaign is ranked by: its email CTR where it sent email, else its web
    click rate; None when neither can be measured."""
    if row.get("email_ctr") is not None:
        return "email_ctr", row["email_ctr"]
    if row.get("web_click_rate") is not None:
        return "web_click_rate", row["web_click_rate"]
    return None


def best_and_worst(compared: list[dict], n: int = 5):
    """The n highest and n lowest ranked campaigns (see `ranking_rate`), from the first
    campaign with a measured rate: no minimum volume. With fewer than 2n campaigns the
    two lists share some."""
    labels = {"email_ctr": _("Email CTR"), "web_click_rate": _("Web click rate")}
    ranked = []
    for row in compared:
        rank = ranking_rate(row)
        if rank is not None:
            ranked.append({**row, "ranked_by": labels[rank[0]], "rank_rate": rank[1]})
    best = sorted(ranked, key=lambda r: (-r["rank_rate"], r["name"]))[:n]
    worst = sorted(ranked, key=lambda r: (r["rank_rate"], r["name"]))[:n]
    return best, worst
