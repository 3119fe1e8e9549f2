"""Benchmark: the person page (timeline) for a person with 10,000 events among 10M.

    python -m bench.timeline [--quick] [--events N] [--samples N] [--skip-load]

Uses its own PostgreSQL database (bench_timeline, or $BENCH_TIMELINE_DB; created and
migrated if missing). Loads N events (10,000,000; --quick 500,000) with one INSERT ...
SELECT over generate_series: sends, deliveries, opens, clicks, bounces, unsubscribes
and page views of 20 email publications, spread over 90 days and 1,000,000 recipients
(subscriber ids that have no row: the timeline reads events by id only), plus one real
person with 10,000 events, a subscription and notes. Then, with the Django test client
logged in, it measures the person page (/admin/people/<id>/) p50/p95:
- the first page, and older pages (following the "Older" cursor 1 to 40 pages deep);
- the baseline, today's way: the same page with the email provider reading events by
  `message_key LIKE '%:s<id>'` (no subscriber id), first and older pages.
Target: p95 <= 150 ms for ours. Writes bench/results/timeline.json (timeline_quick.json
with --quick) and, for a full run, its table in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import time
from pathlib import Path

from bench._common import (
    django_env,
    figure,
    percentile,
    print_figures,
    write_results,
)
from bench._common import ensure_database as common_ensure_database

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = os.environ.get("BENCH_TIMELINE_DB", "bench_timeline")
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DB_URL = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + DB_NAME
PERSON_EVENTS = 10_000
RECIPIENTS = 1_000_000
PUBLICATIONS = 20
KINDS = "ARRAY['send','delivery','open','click','send','delivery','open','bounce','pageview','unsubscribe']"


def env() -> dict:
    return django_env(DB_URL)


def setup_django():
    os.environ.update(env())
    import django

    django.setup()


def load(n_events: int) -> tuple[int, float]:
    """Empty the tables this benchmark fills and load them; returns (person id, seconds)."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from wagtail.models import Page

    from campaigns.audiences.models import MailingList, Subscriber, Subscription
    from campaigns.models import Campaign, Publication
    from campaigns.people.models import Note
    from channels.models import ChannelAccount

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE analytics_event RESTART IDENTITY")
    Note.objects.all().delete()
    Subscriber.objects.filter(email="bench-person@example.com").delete()
    Publication.objects.filter(campaign__slug="bench-timeline").delete()
    Campaign.objects.filter(slug="bench-timeline").delete()
    owner, _ = get_user_model().objects.get_or_create(
        username="bench-owner", defaults={"is_superuser": True, "is_staff": True}
    )
    account, _ = ChannelAccount.objects.get_or_create(
        name="bench email", defaults={"kind": "email/smtp"}
    )
    today = datetime.date.today()
    campaign = Campaign.objects.create(
        name="Bench timeline",
        slug="bench-timeline",
        owner=owner,
        start_date=today - datetime.timedelta(days=90),
        end_date=today,
    )
    page = Page.get_first_root_node()
    pubs = [
        Publication.objects.create(
            campaign=campaign, page=page, channel_account=account, status="published"
        ).pk
        for _ in range(PUBLICATIONS)
    ]
    person = Subscriber.objects.create(
        email="bench-person@example.com",
        name="王芳",
        attributes={"phone": "+86 138 0013 8000", "company": "上海星光贸易"},
    )
    news, _ = MailingList.objects.get_or_create(slug="bench-news", defaults={"name": "News"})
    Subscription.objects.get_or_create(
        subscriber=person,
        mailing_list=news,
        defaults={
            "status": "subscribed",
            "consent_at": "2026-09-01T00:00:00Z",
            "consent_method": "form",
            "consent_text": "Yes, send me the news.",
        },
    )
    for i in range(20):
        Note.objects.create(subscriber=person, author=owner, text=f"Call {i}")
    others = n_events - PERSON_EVENTS
    pub_array = "(ARRAY[" + ",".join(str(p) for p in pubs) + "]::bigint[])"
    sql = f"""
        INSERT INTO analytics_event (uid, kind, occurred_at, received_at, campaign_id, channel,
            publication_id, page_id, link_id, message_key, visitor_hash, is_bot, bot_reason,
            is_unique, referrer_class, search_engine, search_query, user_agent, subscriber_id)
        SELECT substr(md5(g::text || %(salt)s), 1, 32), k.kind,
            now() - make_interval(secs => (g * 7919) %% 7776000),
            now(), %(campaign)s, 'email',
            {pub_array}[1 + g %% {PUBLICATIONS}], 0, 0,
            CASE WHEN k.kind = 'pageview' THEN ''
                 ELSE ({pub_array}[1 + g %% {PUBLICATIONS}])::text || ':s' || s.sid END,
            '', false, '', false, '', '', '', '',
            CASE WHEN k.kind = 'pageview' THEN 0 ELSE s.sid END
        FROM generate_series(1::bigint, %(n)s::bigint) g
        CROSS JOIN LATERAL (SELECT ({KINDS})[1 + (g / 7) %% 10] AS kind) k
        CROSS JOIN LATERAL (SELECT CASE WHEN g <= %(person_n)s THEN %(person)s
                                   ELSE 10000000 + (g * 31) %% {RECIPIENTS} END AS sid) s
    """
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "salt": "bt",
                "campaign": campaign.pk,
                "n": others + PERSON_EVENTS,
                "person_n": PERSON_EVENTS,
                "person": person.pk,
            },
        )
        cursor.execute("ANALYZE analytics_event")
    return person.pk, time.perf_counter() - started


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def measure(person_id: int, samples: int, depth: int) -> tuple[list[float], list[float]]:
    """(first page times, older page times) through the test client."""
    import re

    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username="bench-owner"))
    url = f"/admin/people/{person_id}/"
    first, cursors = [], []

    def get(query=""):
        response = client.get(url + query)
        assert response.status_code == 200, response.status_code
        return response.content.decode()

    get()  # warm the templates
    for _ in range(samples):
        first.append(timed(get))
    query = ""
    for _ in range(depth):
        html = get(query)
        found = re.search(r'href="(\?before=[^"]+)" data-timeline-older', html)
        if not found:
            break
        query = found.group(1).replace("&amp;", "&")
        cursors.append(query)
    older = [timed(lambda q=q: get(q)) for q in cursors[:samples]]
    return first, older


def baseline_provider():
    """Today's way: the email provider reading events by message key suffix."""
    from analytics.models import Event
    from campaigns.people import providers

    class Baseline(providers.EmailProvider):
        def timeline(self, subscriber, before, limit):
            qs = Event.objects.filter(message_key__endswith=f":s{subscriber.pk}")
            if before is not None:
                qs = qs.filter(occurred_at__lt=before)
            rows = list(
                qs.order_by("-occurred_at", "-id").values(
                    "id",
                    "kind",
                    "occurred_at",
                    "campaign_id",
                    "publication_id",
                    "link_id",
                    "is_bot",
                    "value_cents",
                    "currency",
                )[:limit]
            )
            return providers.entries_from_events(rows)

    return Baseline()


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--events", type=int)
    parser.add_argument("--samples", type=int)
    parser.add_argument("--skip-load", action="store_true")
    args = parser.parse_args(argv)
    args.events = args.events or (500_000 if args.quick else 10_000_000)
    args.samples = args.samples or (20 if args.quick else 40)
    return args


def main(argv=None):
    args = parse_args(argv)
    common_ensure_database(PG_ADMIN_URL, DB_NAME, env())
    setup_django()
    from campaigns.audiences.models import Subscriber
    from campaigns.people import registry

    if args.skip_load:
        person_id = Subscriber.objects.get(email="bench-person@example.com").pk
        load_s = float("nan")
    else:
        person_id, load_s = load(args.events)
        print(f"  loaded {args.events} events in {load_s:.1f} s", flush=True)
    first, older = measure(person_id, args.samples, depth=args.samples)
    ours = registry._providers["email"]
    registry.register(baseline_provider())
    try:
        base_samples = max(3, args.samples // 4)
        base_first, base_older = measure(person_id, base_samples, depth=base_samples)
    finally:
        registry.register(ours)
    figures = [
        figure("person page, first page p95", percentile(first, 95), "ms", "<=", 150),
        figure("person page, older page p95", percentile(older, 95), "ms", "<=", 150),
        figure("person page, first page p50", statistics.median(first), "ms"),
        figure("person page, older page p50", statistics.median(older), "ms"),
        figure("baseline (message_key LIKE), first page p95", percentile(base_first, 95), "ms"),
        figure("baseline (message_key LIKE), older page p95", percentile(base_older, 95), "ms"),
        figure("events loaded", args.events, "events"),
        figure("the person's events", PERSON_EVENTS, "events"),
        figure("load time", load_s, "s"),
    ]
    print_figures(figures)
    write_results(
        "timeline_quick" if args.quick else "timeline",
        figures,
        extra={
            "events": args.events,
            "samples": args.samples,
            "older_pages": len(older),
            "quick": args.quick,
        },
    )


if __name__ == "__main__":
    main()
