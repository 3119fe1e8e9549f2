"""Demo analytics for `manage.py load_demo`: campaigns with publications on every channel,
tracked links, 30 days of events and their rollups, SEO analyses. Idempotent: rows are
found by slug / name / deterministic uid, so a second run creates nothing."""

import datetime
import hashlib
import random

from django.contrib.auth import get_user_model
from django.utils import timezone

from campaigns.models import Campaign, Publication
from channels.models import ChannelAccount
from content.models import CONTENT_PAGE_MODELS

from .classify import classify_referrer
from .links import get_or_create_tracked_link
from .models import Event, SeoAnalysis, TrackedLink
from .rollups import update_rollups
from .seo_store import store_page_analysis

DEMO_CAMPAIGNS = [
    ("demo-spring-sale", "Spring sale 2026", 1.0),
    ("demo-chunji-cuxiao", "春季促销 2026", 0.7),
    ("demo-partner-week", "Partner week", 0.35),
]
DEMO_ACCOUNTS = [
    ("Demo newsletter", "email/smtp"),
    ("Demo e-zine", "ezine/email"),
    ("Demo hub blog", "blog/wagtail_site"),
    ("Demo forum", "forum/discourse"),
    ("Demo partner placement", "manual/placement"),
]
REFERRERS = [
    ("https://www.google.com/search?q=spring+sale+ideas", 5),
    ("https://www.baidu.com/s?wd=春季促销", 4),
    ("https://www.bing.com/search?q=spring+sale", 2),
    ("https://t.co/x", 2),
    ("https://www.zhihu.com/question/1", 2),
    ("https://mail.qq.com/", 1),
    ("", 4),
    ("https://partner.example.net/post", 1),
]
DESTINATIONS = [
    "https://shop.example.com/spring",
    "https://shop.example.com/products?cat=garden",
    "https://partner.example.net/offer",
]


def _uid(*parts) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:32]


def load_analytics_demo(stdout=None) -> dict:
    counts = {"campaigns": 0, "publications": 0, "tracked links": 0, "events": 0, "SEO analyses": 0}
    links_before = TrackedLink.objects.count()
    pages = _demo_pages()
    if not pages:
        return counts
    owner = _demo_owner()
    accounts = [
        ChannelAccount.objects.get_or_create(name=name, defaults={"kind": kind})[0]
        for name, kind in DEMO_ACCOUNTS
    ]
    today = timezone.now().date()
    now = timezone.now()
    # One generator for everything, drawn from in a fixed order: the same demo each run.
    rng = random.Random(20261122)
    events = []
    for index, (slug, name, appeal) in enumerate(DEMO_CAMPAIGNS):
        campaign, created = _demo_campaign(slug, name, owner, today)
        counts["campaigns"] += created
        for number, account in enumerate(accounts):
            page = pages[(index + number) % len(pages)]
            publish_at = now - datetime.timedelta(days=28 - 5 * number, hours=index)
            publication, created = _demo_publication(campaign, page, account, publish_at, now)
            counts["publications"] += created
            links = [
                get_or_create_tracked_link(url, publication=publication)
                for url in DESTINATIONS[: 2 + (number % 2)]
            ]
            events.extend(_publication_events(publication, links, appeal, now, rng))
    events.extend(_pageview_events(pages, now, rng))
    events = [e for e in events if e.occurred_at <= now]
    before = Event.objects.count()
    Event.objects.bulk_create(events, batch_size=2000, ignore_conflicts=True)
    counts["events"] = Event.objects.count() - before
    counts["tracked links"] = TrackedLink.objects.count() - links_before
    update_rollups(now=now + datetime.timedelta(days=1))
    counts["SEO analyses"] = _seed_seo_history(pages, now)
    return counts


def _demo_pages() -> list:
    pages = []
    for model in CONTENT_PAGE_MODELS:
        pages.extend(model.objects.live().order_by("pk")[:3])
    return pages


def _demo_owner():
    # The demo marketer (campaigns/demo.py) when there is one: failures and finished
    # sends then reach the person whose home page shows them.
    users = get_user_model().objects
    owner = users.filter(username="marketer", is_active=True).first()
    owner = owner or users.filter(is_superuser=True).order_by("pk").first()
    if owner is None:
        owner, _ = get_user_model().objects.get_or_create(
            username="demo-campaign-owner", defaults={"is_active": False}
        )
    return owner


def _demo_campaign(slug: str, name: str, owner, today: datetime.date):
    return Campaign.objects.get_or_create(
        slug=slug,
        defaults={
            "name": name,
            "owner": owner,
            "start_date": today - datetime.timedelta(days=30),
            "end_date": today + datetime.timedelta(days=15),
            "status": Campaign.Status.RUNNING,
            "target_keyphrases": "spring sale\n春季促销",
        },
    )


def _demo_publication(campaign, page, account, publish_at, now):
    # Demo rows are seeded in their final state; real ones only move through
    # campaigns.services.
    status = Publication.Status.PUBLISHED if publish_at < now else Publication.Status.SCHEDULED
    return Publication.objects.get_or_create(
        campaign=campaign,
        page=page,
        channel_account=account,
        defaults={"publish_at": publish_at, "status": status},
    )


def _publication_events(publication, links, appeal: float, now, rng) -> list[Event]:
    """Every day since the publication went out: its sends (day one, mail channels),
    opens and clicks, fewer each day."""
    channel = publication.channel_account.channel
    days = max(1, (now - publication.publish_at).days) if publication.publish_at < now else 0
    audience = int(400 * appeal) if channel in ("email", "ezine") else 0
    events = []
    for day in range(days):
        start = publication.publish_at + datetime.timedelta(days=day)
        decay = 1.0 / (1 + day / 3)
        if day == 0 and audience:
            events.extend(_send_events(publication, start, audience, rng))
        opens = int(audience * 0.35 * decay * rng.uniform(0.7, 1.3))
        events.extend(_open_events(publication, start, day, opens, audience, rng))
        clicks = int((audience * 0.08 + 60 * appeal) * decay * rng.uniform(0.6, 1.4))
        events.extend(_click_events(publication, links, start, day, clicks, audience, rng))
    return events


def _send_events(publication, start, audience: int, rng) -> list[Event]:
    """One send per recipient, then its delivery or bounce, and a few unsubscribes."""
    events = []
    for r in range(audience):
        key = f"{publication.pk}:demo{r}"
        t = start + datetime.timedelta(seconds=r)
        events.append(_event("send", t, publication, key=key, uid=_uid("s", key)))
        if rng.random() < 0.97:
            events.append(_event("delivery", t, publication, key=key, uid=_uid("d", key)))
        else:
            events.append(_event("bounce", t, publication, key=key, uid=_uid("b", key)))
        if rng.random() < 0.01:
            events.append(
                _event(
                    "unsubscribe",
                    t + datetime.timedelta(hours=3),
                    publication,
                    key=key,
                    uid=_uid("u", key),
                )
            )
    return events


def _open_events(publication, start, day: int, opens: int, audience: int, rng) -> list[Event]:
    events = []
    for o in range(opens):
        key = f"{publication.pk}:demo{rng.randrange(max(1, audience))}"
        t = start + datetime.timedelta(minutes=rng.randrange(1440))
        events.append(
            _event(
                "open",
                t,
                publication,
                key=key,
                uid=_uid("o", key, day, o),
                unique=o < opens * 0.7,
            )
        )
    return events


def _click_events(publication, links, start, day, clicks: int, audience: int, rng) -> list[Event]:
    events = []
    for c in range(clicks):
        link = links[rng.randrange(len(links))]
        t = start + datetime.timedelta(minutes=rng.randrange(1440))
        bot = rng.random() < 0.06
        key = f"{publication.pk}:demo{rng.randrange(audience)}" if audience else ""
        events.append(
            _event(
                "click",
                t,
                publication,
                link=link,
                key=key,
                uid=_uid("c", publication.pk, day, c),
                unique=not bot and c < clicks * 0.8,
                bot=bot,
            )
        )
    return events


def _pageview_events(pages, now, rng) -> list[Event]:
    """Page views on the hub pages over the last 30 days, with referrers."""
    weights = [w for _, w in REFERRERS]
    events = []
    for page in pages:
        for day in range(30):
            for v in range(rng.randrange(5, 25)):
                referrer = rng.choices([r for r, _ in REFERRERS], weights)[0]
                ref = classify_referrer(referrer)
                t = now - datetime.timedelta(days=day, minutes=rng.randrange(1440))
                events.append(
                    Event(
                        uid=_uid("pv", page.pk, day, v),
                        kind="pageview",
                        occurred_at=t,
                        received_at=t,
                        page_id=page.pk,
                        visitor_hash=_uid("visitor", page.pk, day, v),
                        is_unique=v % 3 != 0,
                        referrer_class=ref["class"],
                        search_engine=ref["engine"],
                        search_query=ref["query"],
                    )
                )
    return events


def _seed_seo_history(pages, now) -> int:
    """The SEO analysis of each page not analysed yet, with a short history so the
    trend chart has a line; returns how many analyses were stored."""
    stored = 0
    for page in pages:
        if not SeoAnalysis.objects.filter(page=page).exists():
            current = store_page_analysis(page)
            # A short history so the trend chart has a line: earlier drafts scored lower.
            for weeks, penalty in ((3, 25), (2, 15), (1, 5)):
                SeoAnalysis.objects.create(
                    page=page,
                    keyphrase=current.keyphrase,
                    language=current.language,
                    score=max(0, current.score - penalty),
                    hints=current.hints,
                )
                SeoAnalysis.objects.filter(pk=SeoAnalysis.objects.latest("pk").pk).update(
                    created_at=now - datetime.timedelta(weeks=weeks)
                )
            stored += 4
    return stored


def _event(kind, t, publication, *, key="", uid, link=None, unique=False, bot=False) -> Event:
    return Event(
        uid=uid,
        kind=kind,
        occurred_at=t,
        received_at=t,
        campaign_id=publication.campaign_id,
        channel=publication.channel_account.channel,
        publication_id=publication.pk,
        page_id=publication.page_id,
        link_id=link.pk if link else 0,
        message_key=key,
        is_unique=unique,
        is_bot=bot,
        bot_reason="user_agent" if bot else "",
    )
