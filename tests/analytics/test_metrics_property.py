"""Property test of the metrics (docs/metrics.md): random event streams pushed through the
real storing and rollup services (record_events, store_events, update_rollups), then
every dashboard figure checked against the definitions computed here, independently,
from the stored raw Event rows.

For each of many seeded streams (Hypothesis is not a dependency: `random.Random(seed)`,
the seed in the test id so a failure replays):
- every rate of every dashboard widget lies in [0, 1] (or is "not measured");
- campaign totals, a campaign's channels and days, the overview's campaigns, channels,
  days and totals add up to the same counters;
- each counter and rate equals its definition over the raw events, for the whole
  period, a later part of it (email rates then count earlier deliveries) and one
  channel.

Streams are deliberately untidy: opens and clicks of recipients never delivered, bounces
of messages never sent, the same delivery recorded twice, bots, forwarded messages
clicked without a token, clicks on hub links by visitors who never viewed the page, a
batch pushed twice.
"""

import datetime
import hashlib
import random
from collections import defaultdict

import pytest
from django.utils import timezone

from analytics import dashboards
from analytics.events import record_events, store_events
from analytics.links import get_or_create_tracked_link
from analytics.metrics import METRIC_FIELDS, RATES, ratio
from analytics.models import Event
from analytics.rollups import update_rollups
from analytics.tokens import message_token
from tests.factories import (
    CampaignFactory,
    ChannelAccountFactory,
    PublicationFactory,
    make_blog,
    make_email_issue,
    make_post,
)

STREAMS = 30
DAY0 = datetime.datetime(2026, 11, 2, tzinfo=datetime.UTC)
DAYS = 4
RECIPIENTS = 10
VISITORS = 8
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"
RECORDED = ("send", "delivery", "bounce", "complaint", "unsubscribe")


@pytest.fixture
def world(home_page):
    """Two campaigns: A has an email, a hub blog post and a forum post; B an e-zine
    (email-like) and a hand-made hub link on the same post."""
    blog = make_blog(home_page)
    post = make_post(blog)
    other = make_post(blog, title="Second post", slug="second-post")
    issue = make_email_issue(home_page)
    smtp = ChannelAccountFactory(kind="email/smtp", name="SMTP")
    ezine = ChannelAccountFactory(kind="ezine/email", name="E-zine")
    hub = ChannelAccountFactory(kind="blog/wagtail_site", name="Hub")
    forum = ChannelAccountFactory(kind="forum/discourse", name="Forum")
    a = CampaignFactory(slug="a", name="A", start_date=DAY0.date())
    b = CampaignFactory(slug="b", name="B", start_date=DAY0.date())
    pubs = {
        "email": PublicationFactory(campaign=a, page=issue, channel_account=smtp),
        "hub": PublicationFactory(campaign=a, page=post, channel_account=hub),
        "forum": PublicationFactory(campaign=a, page=other, channel_account=forum),
        "ezine": PublicationFactory(campaign=b, page=issue, channel_account=ezine),
    }
    links = {
        name: [
            get_or_create_tracked_link(f"https://shop.example.com/{name}/{i}", publication=pub)
            for i in range(2)
        ]
        for name, pub in pubs.items()
    }
    # A link on the hub page itself, attributed to campaign B (hub links, issue 17).
    links["hub-b"] = [
        get_or_create_tracked_link(
            "https://partner.example.net/", campaign=b, page=post, channel="hub"
        )
    ]
    return {"campaigns": (a, b), "pubs": pubs, "links": links, "pages": (post, other)}


def at(rng) -> datetime.datetime:
    return DAY0 + datetime.timedelta(seconds=rng.randrange(DAYS * 86400))


def visitor(v: int, t: datetime.datetime) -> str:
    """A visitor's hash is daily (analytics.visitors): the day is part of it."""
    return hashlib.sha256(f"v{v}|{t.date()}".encode()).hexdigest()[:32]


def uid(rng) -> str:
    return f"{rng.getrandbits(128):032x}"


def stream(rng, world) -> list[tuple[datetime.datetime, str, dict]]:
    """(time, path, event) for one random stream: path "record" (record_events) or
    "store" (store_events, as the drainer stores the tracking endpoints' payloads)."""
    out = []
    for name in ("email", "ezine"):
        pub = world["pubs"][name]
        for r in range(RECIPIENTS):
            key = f"r{r}"  # no subscriber: "s<id>" of nobody is an erased person
            token = message_token(pub.pk, key)
            sent = at(rng)
            kinds = []
            if rng.random() < 0.85:
                kinds.append(("send", sent))
                if rng.random() < 0.9:
                    kinds.append(("delivery", sent + datetime.timedelta(seconds=1)))
            elif rng.random() < 0.3:
                kinds.append(("delivery", sent))  # a delivery of no recorded send
            if rng.random() < 0.15:
                kinds.append(("delivery", at(rng)))  # reported twice
            for kind, p in (("bounce", 0.15), ("complaint", 0.05), ("unsubscribe", 0.15)):
                if rng.random() < p:
                    kinds.append((kind, at(rng)))
            for kind, t in kinds:
                event = {"kind": kind, "publication_id": pub.pk, "occurred_at": t}
                event["recipient_key"] = key
                event["uid"] = uid(rng)
                out.append((t, "record", event))
            for _ in range(rng.randrange(4)):
                t = at(rng)
                bot = "user_agent" if rng.random() < 0.1 else ""
                out.append((t, "store", {"k": "open", "m": token, "a": FIREFOX, "b": bot}))
            for _ in range(rng.randrange(4)):
                t = at(rng)
                link = rng.choice(world["links"][name])
                bot = "user_agent" if rng.random() < 0.1 else ""
                forwarded = rng.random() < 0.1  # no token: not this recipient's click
                payload = {"k": "click", "l": link.pk, "a": FIREFOX, "b": bot}
                payload["v"] = visitor(100 + r, t)
                if not forwarded:
                    payload["m"] = token
                out.append((t, "store", payload))
    post, other = world["pages"]
    for v in range(VISITORS):
        for _ in range(rng.randrange(4)):
            t = at(rng)
            page = post if rng.random() < 0.8 else other
            bot = "user_agent" if rng.random() < 0.1 else ""
            out.append((t, "store", {"k": "pageview", "p": page.pk, "v": visitor(v, t), "b": bot}))
        for _ in range(rng.randrange(5)):
            t = at(rng)
            link = rng.choice(world["links"][rng.choice(("hub", "hub-b", "forum"))])
            bot = "user_agent" if rng.random() < 0.1 else ""
            out.append(
                (
                    t,
                    "store",
                    {"k": "click", "l": link.pk, "v": visitor(v, t), "a": FIREFOX, "b": bot},
                )
            )
    for t, path, event in out:
        if path == "store":
            event.update({"u": uid(rng), "t": t.timestamp()})
    return out


def push(rng, events) -> None:
    """In time order, in batches of random size, each through its path; one batch twice."""
    events.sort(key=lambda item: item[0])
    i = 0
    batches = []
    while i < len(events):
        size = rng.randrange(1, 30)
        batches.append(events[i : i + size])
        i += size
    batches.append(rng.choice(batches))  # delivered twice by the queue: stored once
    for batch in batches:
        run: list = []
        for item in [*batch, (None, None, None)]:
            if run and item[1] != run[0][1]:
                if run[0][1] == "record":
                    record_events([e for _t, _p, e in run])
                else:
                    store_events([e for _t, _p, e in run])
                run = []
            if item[1] is not None:
                run.append(item)


# --- The definitions, over raw events ------------------------------------------------------

ORDER = {"send": 0, "delivery": 1}


def oracle(world, start, end, channels=None):
    """{campaign_id: {channel: counters}} by the written definitions (docs/metrics.md),
    with the email denominators up to `end` as `<name>_to_date`."""
    events = sorted(Event.objects.all(), key=lambda e: (e.occurred_at, ORDER.get(e.kind, 2), e.pk))
    hub_links = {link.pk for link in world["links"]["hub"] + world["links"]["hub-b"]}
    sent, delivered, opened, firsts = set(), set(), set(), set()
    viewers, web_first, unique_pv, unique_click = set(), set(), set(), set()
    counts: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    views_by_page: dict = defaultdict(int)

    def add(e, name):
        day = e.occurred_at.date()
        if channels and e.channel not in channels:
            return
        if start <= day <= end:
            counts[e.campaign_id][e.channel]["@present"] = 1
        if day <= end:
            counts[e.campaign_id][e.channel][name + "@to_date"] += 1
        if start <= day <= end:
            counts[e.campaign_id][e.channel][name] += 1

    for e in events:
        key, human = e.message_key, not e.is_bot
        if e.kind == "send" and key and key not in sent:
            sent.add(key)
            add(e, "sends")
        elif e.kind == "delivery" and key and key not in delivered:
            delivered.add(key)
            add(e, "deliveries")
        elif e.kind in ("bounce", "complaint") and key in sent and (e.kind, key) not in firsts:
            firsts.add((e.kind, key))
            add(e, e.kind + "s")
        elif e.kind == "unsubscribe" and key in delivered and (e.kind, key) not in firsts:
            firsts.add((e.kind, key))
            add(e, "unsubscribes")
        elif e.kind == "pageview" and human:
            add(e, "pageviews")
            if (e.page_id, e.visitor_hash) not in unique_pv:
                unique_pv.add((e.page_id, e.visitor_hash))
                viewers.add((e.page_id, e.visitor_hash))
                if start <= e.occurred_at.date() <= end:
                    views_by_page[e.page_id] += 1
        if e.kind == "open" and human:
            add(e, "opens")
        if e.kind == "click":
            add(e, "clicks" if human else "bot_clicks")
            ident = (e.link_id, key or e.visitor_hash)
            if human and ident not in unique_click:
                unique_click.add(ident)
                add(e, "unique_clicks")
        if e.kind in ("open", "click") and human and key in delivered:
            if key not in opened:
                opened.add(key)
                add(e, "unique_opens")
            if e.kind == "click" and ("click", key) not in firsts:
                firsts.add(("click", key))
                add(e, "unique_clickers")
        if e.kind == "click" and human and not key and e.link_id in hub_links:
            pair = (e.page_id, e.visitor_hash)
            if pair in viewers and pair not in web_first:
                web_first.add(pair)
                add(e, "web_clickers")
    return counts, views_by_page


def expected(counts, views_by_page, world, campaign_ids, channels=None):
    """Counters and rates of some campaigns (in some channels) from the oracle. The web
    click rate's pages: those of hub publications, and of hub links with events in the
    period (docs/metrics.md)."""
    row = defaultdict(int)
    for cid in campaign_ids:
        for ch, values in counts[cid].items():
            if not channels or ch in channels:
                for name, n in values.items():
                    row[name] += n
    pages = set()
    hub_pub, hub_link = world["pubs"]["hub"], world["links"]["hub-b"][0]
    for cid in campaign_ids:
        if hub_pub.campaign_id == cid and (not channels or "blog" in channels):
            pages.add(hub_pub.page_id)
        if hub_link.campaign_id == cid and (not channels or "hub" in channels):
            if counts[cid]["hub"].get("@present"):
                pages.add(hub_link.page_id)
    out = {name: row[name] for name in METRIC_FIELDS if name != "unique_visitors"}
    out["web_views"] = sum(views_by_page[p] for p in pages)
    for name in ("deliveries", "unique_opens", "sends"):
        out[f"{name}_to_date"] = row[name + "@to_date"]
    for rate in RATES:
        out[rate.name] = ratio(out[rate.numerator], out[rate.denominator])
    return out


def same(actual: dict, wanted: dict, what: str):
    for name, value in wanted.items():
        got = actual[name]
        if isinstance(value, float) or isinstance(got, float):
            assert got is not None and abs(got - value) < 1e-9, (what, name, got, value)
        else:
            assert got == value, (what, name, got, value)


def all_rates_in_unit_interval(rows: list[dict], what: str):
    for row in rows:
        for rate in RATES:
            value = row.get(rate.name)
            assert value is None or 0.0 <= value <= 1.0, (what, rate.name, value, row)


def counters(row: dict) -> dict:
    return {m: row[m] for m in METRIC_FIELDS}


def summed(rows: list[dict]) -> dict:
    return {m: sum(r[m] for r in rows) for m in METRIC_FIELDS}


@pytest.mark.parametrize("seed", range(STREAMS))
def test_random_streams_keep_every_definition(db, world, seed):
    rng = random.Random(seed)
    push(rng, stream(rng, world))
    update_rollups(now=timezone.now() + datetime.timedelta(days=1))
    a, b = world["campaigns"]
    last = DAY0.date() + datetime.timedelta(days=DAYS - 1)
    filters = [
        dashboards.DashboardFilter(DAY0.date(), last),
        dashboards.DashboardFilter(DAY0.date() + datetime.timedelta(days=2), last),
        dashboards.DashboardFilter(DAY0.date(), last, channels=["email"]),
        dashboards.DashboardFilter(DAY0.date(), DAY0.date() + datetime.timedelta(days=1)),
    ]
    for flt in filters:
        what = f"seed {seed}, {flt}"
        counts, views = oracle(world, flt.start, flt.end, flt.channels or None)
        compared = dashboards.campaigns_compared(flt)
        mix = dashboards.channel_mix(flt)
        trend = dashboards.overall_trend(flt)
        total = dashboards.overview_totals(flt)
        best, worst = dashboards.best_and_worst(compared)
        all_rates_in_unit_interval([*compared, *mix, *trend, total, *best, *worst], what)
        # The overview adds up: campaigns, channels, days and its totals.
        assert summed(compared) == counters(total) == summed(mix), what
        assert summed(trend) == counters(total), what
        wanted = expected(counts, views, world, [a.pk, b.pk], flt.channels)
        same(total, wanted, what + " overview")
        for campaign in (a, b):
            totals = dashboards.campaign_totals(flt, campaign.pk)
            by_channel = dashboards.campaign_by_channel(flt, campaign.pk)
            over_time = dashboards.campaign_over_time(flt, campaign.pk)
            publications = dashboards.top_publications(flt, campaign.pk)
            all_rates_in_unit_interval([totals, *by_channel, *over_time, *publications], what)
            assert summed(by_channel) == counters(totals) == summed(over_time), what
            row = next((r for r in compared if r["campaign_id"] == campaign.pk), None)
            if row is not None:
                same(row, {k: v for k, v in totals.items() if k in row}, what + " row")
            wanted = expected(counts, views, world, [campaign.pk], flt.channels)
            same(totals, wanted, f"{what} {campaign}")
            for channel_row in by_channel:
                wanted = expected(counts, views, world, [campaign.pk], [channel_row["channel"]])
                same(channel_row, wanted, f"{what} {campaign} {channel_row['channel']}")
        # With one campaign measured or more, the best and worst lists are never empty.
        if any(dashboards.ranking_rate(r) for r in compared):
            assert best and worst, what
