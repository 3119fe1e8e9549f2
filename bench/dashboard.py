"""Benchmark: dashboard queries over rollups vs naive queries over raw events, and the
CPU cost of keeping rollups current.

    python -m bench.dashboard [--quick] [--events N] [--campaigns N] [--samples N]

Uses its own PostgreSQL database (bench_dashboard, or $BENCH_DASHBOARD_DB; created
and migrated if missing). Loads N events (10,000,000; --quick 200,000) spread over 90
days across N campaigns (500; --quick 50) x 4 publications x 3 links with COPY, builds
the rollups, then measures for a sample of campaigns (90-day range):
- p50/p95 of each dashboard widget (analytics.dashboards), cold (first query of that
  campaign on a fresh connection) and warm (repeated);
- p50/p95 of the whole campaign dashboard page (Django test client, HTML rendered) and
  of the leadership overview, cold and warm;
- conversions at 1 % of the clicks, and the conversion widgets (bench.dashboard_conversions);
- the naive equivalent of the main widgets computed from raw events, same campaigns;
- rollup upkeep: events inserted at 1,000/s while update_rollups runs every 5 s; CPU
  of the rollup (this process + its PostgreSQL backend, from /proc) per wall second.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import io
import os
import random
import secrets
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from bench import dashboard_conversions as conversions
from bench._common import django_env, figure, percentile, print_figures, write_results
from bench._common import ensure_database as common_ensure_database

ROOT = Path(__file__).resolve().parent.parent
# Its own: bench.redirect drains clicks into bench_analytics (BENCH_DASHBOARD_DB: another
# name, e.g. for a second checkout whose migrations differ).
DB_NAME = os.environ.get("BENCH_DASHBOARD_DB", "bench_dashboard")
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DB_URL = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + DB_NAME
CHANNELS = ["email", "ezine", "blog", "forum", "manual"]
KINDS = (
    ["send"] * 30
    + ["delivery"] * 29
    + ["open"] * 15
    + ["click"] * 20
    + ["pageview"] * 4
    + ["bounce", "unsubscribe"]
)
EVENT_COLUMNS = (
    "uid",
    "kind",
    "occurred_at",
    "received_at",
    "campaign_id",
    "channel",
    "publication_id",
    "page_id",
    "link_id",
    "message_key",
    "visitor_hash",
    "is_bot",
    "bot_reason",
    "is_unique",
    "referrer_class",
    "search_engine",
    "search_query",
    "user_agent",
)


def env() -> dict:
    return django_env(DB_URL)


def ensure_database():
    common_ensure_database(PG_ADMIN_URL, DB_NAME, env())


def setup_django():
    os.environ.update(env())
    import django

    django.setup()


def clear_bench_rows():
    """Empty the event and rollup tables; delete the previous load's campaigns and links."""
    from django.db import connection

    from analytics.models import (
        CampaignDailyRollup,
        DailyRollup,
        HourlyRollup,
        RollupState,
        SearchQueryDaily,
        TrackedLink,
    )
    from campaigns.models import Campaign, Publication

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE analytics_event RESTART IDENTITY")
    HourlyRollup.objects.all().delete()
    DailyRollup.objects.all().delete()
    CampaignDailyRollup.objects.all().delete()
    SearchQueryDaily.objects.all().delete()
    RollupState.objects.all().delete()
    conversions.clear()
    TrackedLink.objects.filter(label="bench-dashboard").delete()
    Publication.objects.filter(campaign__slug__startswith="bench-dash-").delete()
    Campaign.objects.filter(slug__startswith="bench-dash-").delete()


def bench_accounts() -> dict:
    """One channel account per channel, by channel."""
    from channels.models import ChannelAccount

    return {
        ch: ChannelAccount.objects.get_or_create(
            name=f"bench {ch}",
            defaults={
                "kind": {
                    "email": "email/smtp",
                    "ezine": "ezine/email",
                    "blog": "blog/wagtail_site",
                    "forum": "forum/discourse",
                    "manual": "manual/placement",
                }[ch]
            },
        )[0]
        for ch in CHANNELS
    }


def create_bench_rows(n_campaigns: int):
    """Campaigns over the last 90 days, 4 publications each (channels in turn), 3 tracked
    links per publication: (campaigns, publications, links, the page they are on)."""
    from django.contrib.auth import get_user_model
    from wagtail.models import Page

    from analytics.models import TrackedLink
    from campaigns.models import Campaign, Publication

    owner, _ = get_user_model().objects.get_or_create(
        username="bench-owner", defaults={"is_superuser": True}
    )
    page = Page.get_first_root_node()
    accounts = bench_accounts()
    today = datetime.date.today()
    campaigns = Campaign.objects.bulk_create(
        [
            Campaign(
                name=f"Bench campaign {i}",
                slug=f"bench-dash-{i}",
                start_date=today - datetime.timedelta(days=90),
                end_date=today,
                owner=owner,
            )
            for i in range(n_campaigns)
        ]
    )
    pubs = Publication.objects.bulk_create(
        [
            Publication(
                campaign=c,
                page=page,
                channel_account=accounts[CHANNELS[(c.pk + j) % len(CHANNELS)]],
                status="published",
            )
            for c in campaigns
            for j in range(4)
        ]
    )
    links = TrackedLink.objects.bulk_create(
        [
            TrackedLink(
                code=secrets.token_urlsafe(12),
                link_key=hashlib.sha256(f"bench-dash|{p.pk}|{k}".encode()).hexdigest(),
                original_url=f"https://shop.example.com/{p.pk}/{k}",
                destination=f"https://shop.example.com/{p.pk}/{k}?utm_source=bench",
                campaign_id=p.campaign_id,
                publication=p,
                page=page,
                channel=p.channel_account.channel,
                label="bench-dashboard",
            )
            for p in pubs
            for k in range(3)
        ],
        batch_size=5000,
    )
    return campaigns, pubs, links, page


@dataclass
class EventTargets:
    """What the random events point at: (publication, campaign, channel) rows, each
    publication's link ids, the page, and the 90 days up to now they fall in."""

    pub_rows: list[tuple[int, int, str]]
    links_by_pub: dict[int, list[int]]
    page_pk: int
    start: datetime.datetime
    span: int = 90 * 86400

    @classmethod
    def of(cls, pubs, links, page) -> EventTargets:
        links_by_pub: dict[int, list[int]] = {}
        for link in links:
            links_by_pub.setdefault(link.publication_id, []).append(link.pk)
        return cls(
            pub_rows=[(p.pk, p.campaign_id, p.channel_account.channel) for p in pubs],
            links_by_pub=links_by_pub,
            page_pk=page.pk,
            start=datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=90),
        )

    def copy_line(self, i: int, rng: random.Random) -> str:
        """Event number `i` as one COPY line (EVENT_COLUMNS), drawn from `rng`."""
        pub_id, campaign_id, channel = self.pub_rows[rng.randrange(len(self.pub_rows))]
        kind = KINDS[rng.randrange(len(KINDS))]
        t = self.start + datetime.timedelta(seconds=rng.randrange(self.span))
        link_id = self.links_by_pub[pub_id][rng.randrange(3)] if kind == "click" else 0
        bot = kind == "click" and rng.random() < 0.05
        search = kind == "pageview" and rng.random() < 0.4
        return (
            f"{i:032x}\t{kind}\t{t.isoformat()}\t{t.isoformat()}\t{campaign_id}\t{channel}\t"
            f"{pub_id}\t{self.page_pk}\t{link_id}\t{pub_id}:r{rng.randrange(5000)}\t"
            f"{rng.getrandbits(64):016x}\t{'t' if bot else 'f'}\t{'user_agent' if bot else ''}\t"
            f"{'t' if rng.random() < 0.6 and not bot else 'f'}\t"
            f"{'organic' if search else ''}\t{'google' if search else ''}\t"
            f"{'spring sale ' + str(rng.randrange(20)) if search else ''}\tMozilla/5.0\n"
        )


def copy_events(
    n_events: int, targets: EventTargets, rng: random.Random, columns=EVENT_COLUMNS
) -> None:
    """`n_events` random events into analytics_event with COPY (in chunks of 200,000
    lines), committed, the id sequence moved past them, and the table analyzed."""
    from django.db import connection

    raw = (
        connection.connection
        if connection.connection
        else (connection.ensure_connection() or connection.connection)
    )
    chunk = 200_000
    written = 0
    with raw.cursor() as cur:
        with cur.copy(f"COPY analytics_event ({', '.join(columns)}) FROM STDIN") as copy:
            while written < n_events:
                buf = io.StringIO()
                for i in range(written, min(n_events, written + chunk)):
                    buf.write(targets.copy_line(i, rng))
                copy.write(buf.getvalue())
                written = min(n_events, written + chunk)
    raw.commit()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('analytics_event', 'id'), (SELECT max(id) FROM analytics_event))"
        )
        cursor.execute("ANALYZE analytics_event")


def build_rollups(n_events: int) -> None:
    """Fold everything loaded into the rollups, so the upkeep measured later is only
    upkeep; then analyze the rollup tables."""
    from django.db import connection

    from analytics.rollups import update_rollups

    while update_rollups(
        now=datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1),
        max_events=n_events + 10,
    ):
        pass
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE analytics_dailyrollup")
        cursor.execute("ANALYZE analytics_hourlyrollup")
        cursor.execute("ANALYZE analytics_campaigndailyrollup")
    conversions.analyze()


def reset_and_load(n_events: int, n_campaigns: int, seed: int = 7):
    """Fresh bench rows: campaigns, publications, links via the ORM; events via COPY.
    Returns the campaign ids and the seconds the load and the rollup build took."""
    rng = random.Random(seed)
    clear_bench_rows()
    campaigns, pubs, links, page = create_bench_rows(n_campaigns)
    goals = conversions.setup_goals_and_costs(campaigns, pubs)
    targets = conversions.ConversionLines(EventTargets.of(pubs, links, page), goals)
    t0 = time.monotonic()
    copy_events(n_events, targets, rng, targets.columns(EVENT_COLUMNS))
    print(f"  with {targets.conversions} conversions", flush=True)
    load_s = time.monotonic() - t0
    t0 = time.monotonic()
    build_rollups(n_events)
    rollup_s = time.monotonic() - t0
    return [c.pk for c in campaigns], load_s, rollup_s


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def fresh_connection():
    from django.db import connection

    connection.close()
    connection.ensure_connection()


def measure_widgets(campaign_ids, flt):
    from analytics import dashboards

    widgets = {
        "totals": lambda cid: dashboards.campaign_totals(flt, cid),
        "by_channel": lambda cid: dashboards.campaign_by_channel(flt, cid),
        "over_time": lambda cid: dashboards.campaign_over_time(flt, cid),
        "top_publications": lambda cid: dashboards.top_publications(flt, cid),
        "top_links": lambda cid: dashboards.top_links(flt, cid),
        "seo_table": lambda cid: dashboards.seo_table(flt, cid),
        "schedule": lambda cid: dashboards.schedule(cid),
    }
    widgets = conversions.widgets(flt, widgets)
    cold: dict[str, list[float]] = {w: [] for w in widgets}
    warm: dict[str, list[float]] = {w: [] for w in widgets}
    for cid in campaign_ids:
        fresh_connection()
        for name, fn in widgets.items():
            cold[name].append(timed(lambda fn=fn, cid=cid: fn(cid)))
        for name, fn in widgets.items():
            warm[name].append(min(timed(lambda fn=fn, cid=cid: fn(cid)) for _ in range(3)))
    overview = {
        "campaigns_compared": lambda: dashboards.campaigns_compared(flt),
        "channel_mix": lambda: dashboards.channel_mix(flt),
        "overall_trend": lambda: dashboards.overall_trend(flt),
    }
    for name, fn in overview.items():
        fresh_connection()
        cold[name] = [timed(fn)]
        warm[name] = [timed(fn) for _ in range(5)]
    return cold, warm


def measure_pages(campaign_ids, flt):
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username="bench-owner"))
    params = {"start": flt.start.isoformat(), "end": flt.end.isoformat()}
    cold, warm = [], []
    for cid in campaign_ids:
        fresh_connection()
        url = f"/admin/dashboards/campaign/{cid}/"
        cold.append(timed(lambda url=url: _get_ok(client, url, params)))
        warm.append(min(timed(lambda url=url: _get_ok(client, url, params)) for _ in range(2)))
    fresh_connection()
    overview_cold = [timed(lambda: _get_ok(client, "/admin/dashboards/overview/", params))]
    overview_warm = [
        timed(lambda: _get_ok(client, "/admin/dashboards/overview/", params)) for _ in range(3)
    ]
    return cold, warm, overview_cold, overview_warm


def _get_ok(client, url, params):
    response = client.get(url, params)
    assert response.status_code == 200, (url, response.status_code)


def measure_naive(campaign_ids, flt):
    """The same numbers straight from raw events (what the rollups replace)."""
    from django.db import connection

    start = datetime.datetime.combine(flt.start, datetime.time(), tzinfo=datetime.UTC)
    end = datetime.datetime.combine(
        flt.end + datetime.timedelta(days=1), datetime.time(), tzinfo=datetime.UTC
    )
    queries = {
        "totals": "SELECT kind, is_bot, count(*) FROM analytics_event WHERE campaign_id = %s AND occurred_at >= %s AND occurred_at < %s GROUP BY 1, 2",
        "over_time": "SELECT date_trunc('day', occurred_at), kind, count(*) FROM analytics_event WHERE campaign_id = %s AND occurred_at >= %s AND occurred_at < %s AND NOT is_bot GROUP BY 1, 2",
        "top_links": "SELECT link_id, count(*) FROM analytics_event WHERE campaign_id = %s AND occurred_at >= %s AND occurred_at < %s AND kind = 'click' AND NOT is_bot GROUP BY 1 ORDER BY 2 DESC LIMIT 10",
    }
    times: dict[str, list[float]] = {q: [] for q in queries}
    for cid in campaign_ids:
        for name, sql in queries.items():

            def run(sql=sql, cid=cid):
                with connection.cursor() as cursor:
                    cursor.execute(sql, [cid, start, end])
                    cursor.fetchall()

            times[name].append(timed(run))
    return times


def _proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_upkeep(seconds: float, rate: int = 1000, every: float = 5.0):
    """Insert `rate` events per second; run update_rollups every `every` seconds; return
    the rollup's CPU (client + backend) as % of one core over the wall time."""
    from django.db import connection

    from analytics.models import Event
    from analytics.rollups import update_rollups

    pub = list(
        Event.objects.filter(kind="click").values_list(
            "publication_id", "campaign_id", "channel", "link_id"
        )[:50]
    )
    rng = random.Random(3)
    goals = conversions.goals_by_campaign()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    rollup_cpu = 0.0
    started = time.monotonic()
    next_rollup = started + every
    seq = 0
    run = int(time.time())
    rolled = 0
    while time.monotonic() - started < seconds:
        tick = time.monotonic()
        now = datetime.datetime.now(datetime.UTC)
        received = now - datetime.timedelta(minutes=5)  # past the rollup lag at once
        rows = []
        for _ in range(rate):
            pid, cid, ch, lid = pub[rng.randrange(len(pub))]
            seq += 1
            rows.append(
                Event(
                    uid=f"upkeep{run:010d}{seq:016d}",  # unique across runs too
                    kind="click",
                    occurred_at=now,
                    received_at=received,
                    campaign_id=cid,
                    channel=ch,
                    publication_id=pid,
                    link_id=lid,
                    visitor_hash=f"{rng.getrandbits(64):016x}",
                    is_unique=rng.random() < 0.5,
                )
            )
        rows += conversions.upkeep_conversions(rows, rng, goals)
        Event.objects.bulk_create(rows, batch_size=1000)
        if time.monotonic() >= next_rollup:
            c0, b0 = time.process_time(), _proc_cpu_seconds(backend)
            rolled += update_rollups()
            rollup_cpu += (time.process_time() - c0) + (_proc_cpu_seconds(backend) - b0)
            next_rollup += every
        time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
    wall = time.monotonic() - started
    c0, b0 = time.process_time(), _proc_cpu_seconds(backend)
    rolled += update_rollups()
    rollup_cpu += (time.process_time() - c0) + (_proc_cpu_seconds(backend) - b0)
    return 100.0 * rollup_cpu / wall, seq / wall, rolled


def parse_args(argv=None) -> argparse.Namespace:
    """The options, with the sizes resolved (--quick: smaller)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--events", type=int, default=None)
    parser.add_argument("--campaigns", type=int, default=None)
    parser.add_argument("--samples", type=int, default=None)
    parser.add_argument("--upkeep-seconds", type=float, default=None)
    parser.add_argument("--skip-load", action="store_true", help="reuse the loaded events")
    args = parser.parse_args(argv)
    args.events = args.events or (200_000 if args.quick else 10_000_000)
    args.campaigns = args.campaigns or (50 if args.quick else 500)
    args.samples = args.samples or (8 if args.quick else 40)
    args.upkeep_seconds = args.upkeep_seconds or (12 if args.quick else 60)
    return args


def widget_figures(cold: dict, warm: dict) -> list[dict]:
    """The worst widget p95 (warm and cold, against the target), then each widget's."""
    figures = []
    worst_p95 = max(percentile(v, 95) for v in warm.values())
    worst_cold_p95 = max(percentile(v, 95) for v in cold.values())
    figures.append(figure("worst widget p95, warm", worst_p95, "ms", "<=", 150))
    figures.append(figure("worst widget p95, cold", worst_cold_p95, "ms", "<=", 150))
    for name in cold:
        figures.append(figure(f"{name} p50 cold", statistics.median(cold[name]), "ms"))
        figures.append(figure(f"{name} p95 cold", percentile(cold[name], 95), "ms"))
        figures.append(figure(f"{name} p50 warm", statistics.median(warm[name]), "ms"))
        figures.append(figure(f"{name} p95 warm", percentile(warm[name], 95), "ms"))
    return figures


def main(argv=None):
    args = parse_args(argv)
    n_events, n_campaigns = args.events, args.campaigns
    samples, upkeep_s = args.samples, args.upkeep_seconds

    ensure_database()
    setup_django()
    from analytics.dashboards import DashboardFilter
    from campaigns.models import Campaign

    if args.skip_load:
        campaign_ids = list(
            Campaign.objects.filter(slug__startswith="bench-dash-").values_list("pk", flat=True)
        )
        load_s = rollup_s = float("nan")
    else:
        campaign_ids, load_s, rollup_s = reset_and_load(n_events, n_campaigns)
        print(
            f"  loaded {n_events} events in {load_s:.1f} s, rollups built in {rollup_s:.1f} s",
            flush=True,
        )
    rng = random.Random(11)
    sample = rng.sample(campaign_ids, min(samples, len(campaign_ids)))
    today = datetime.date.today()
    flt = DashboardFilter(start=today - datetime.timedelta(days=89), end=today)

    cold, warm = measure_widgets(sample, flt)
    page_cold, page_warm, overview_cold, overview_warm = measure_pages(sample, flt)
    naive = measure_naive(sample[: min(5, len(sample))], flt)
    upkeep_pct, rate, rolled = measure_upkeep(upkeep_s)

    figures = widget_figures(cold, warm)
    figures += [
        figure("campaign page p95, cold", percentile(page_cold, 95), "ms", "<=", 1000),
        figure("campaign page p95, warm", percentile(page_warm, 95), "ms", "<=", 1000),
        figure("campaign page p50, cold", statistics.median(page_cold), "ms"),
        figure("campaign page p50, warm", statistics.median(page_warm), "ms"),
        figure("overview page, cold", max(overview_cold), "ms", "<=", 1000),
        figure("overview page p95, warm", percentile(overview_warm, 95), "ms", "<=", 1000),
    ]
    for name, values in naive.items():
        figures.append(figure(f"naive raw-event {name} p50", statistics.median(values), "ms"))
        figures.append(figure(f"naive raw-event {name} p95", percentile(values, 95), "ms"))
    figures += [
        figure("rollup upkeep CPU at 1,000 events/s", upkeep_pct, "% of a core", "<=", 10),
        figure("events inserted per second during upkeep", rate, "events/s"),
        figure("events loaded", n_events, "events"),
        figure("COPY load time", load_s, "s"),
        figure("initial rollup build", rollup_s, "s"),
    ]
    print_figures(figures)
    write_results(
        "dashboard_quick" if args.quick else "dashboard",
        figures,
        extra={
            "events": n_events,
            "campaigns": n_campaigns,
            "samples": len(sample),
            "quick": args.quick,
            "upkeep_rolled": rolled,
        },
    )


if __name__ == "__main__":
    main()
