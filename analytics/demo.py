"""Demo analytics for `manage.py load_demo`: campaigns whose schedule fills this week's
calendar, published and sent through the real pipeline, and the engagement that
follows, written only by the real paths.

- Publications are saved and scheduled by the campaign services. The ones that lie in
  the past went out the way every publication does: scheduled while still ahead, then
  claimed by the dispatcher and published by the publish service, both run with the
  clock of that moment (their public `now` arguments), so the calendar shows them where
  they happened. The rest stay scheduled.
- Email goes through the real fan-out (audience frozen into delivery rows, claimed
  batches, SMTP, sent marks, send events) to a mail sink on a loopback port that lives
  as long as the loader (channels.demo.DemoMailSink). One send finishes; one is paused
  by the marketer's Pause part way through.
- Readers then open and click what the sink caught: the open pixel and the tracked
  links of each message, requested over HTTP (Django's test client) with ordinary
  browsers' user agents, after the scanner window, so they count as people; a mail
  gateway's scan of every link of a few messages, as they arrive, is set apart as bots
  by the scanner heuristics. Visitors of the partner site click the placements' tracked
  links; page views come through the page-view beacon, and some visitors then follow a
  page's tracked links. Nothing here writes an Event itself.
- The rollups are brought up to date (their lag waived through `update_rollups`' `now`).

Those requests happen while the demo loads, so the engagement is dated today.
Idempotent: campaigns are found by slug and only a campaign made in this run is
published, sent and read; a second run creates nothing.
"""

from __future__ import annotations

import dataclasses
import datetime
import email
import email.policy
import random
import re
import time
from urllib.parse import parse_qs, urlencode, urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.http.request import validate_host
from django.test import Client
from django.utils import timezone

from campaigns import services as campaign_services
from campaigns.audiences.models import MailingList
from campaigns.demo import LIST_SLUG, TEAM_TIME_ZONE
from campaigns.models import Campaign, Publication
from campaigns.recurrence import get_zone
from channels.demo import (
    HUB_BLOG,
    MANUAL_PLACEMENT,
    SMTP_ACCOUNTS,
    DemoMailSink,
    pointed_at,
    run_send,
)
from channels.email.services import set_email_audience
from channels.manual.placement import task_for_publication
from channels.manual.services import complete_task
from channels.models import ChannelAccount, ManualPlacementTask
from content.models import CONTENT_PAGE_MODELS, BlogPostPage, EmailIssuePage, SoftArticlePage

from .click_carry import CLICK_PARAM
from .draining import drain_event_queue
from .goal_cache import forget_goals
from .models import Event, Goal, SeoAnalysis
from .pusher import flush_pushes
from .rollups import rollup_lag, update_rollups
from .seo_store import store_page_analysis

RUNNING_SLUG = "demo-winter-sale"
FINISHED_SLUG = "demo-autumn-launch"
# The "running" send is paused once this many messages went out.
RUNNING_SEND_STOPS_AFTER = 80
# Clicks wait this long after the last message went out: a click within
# analytics.events.FAST_CLICK_SECONDS of its delivery is a mail scanner's.
CLICK_AFTER_SECONDS = 2.2

# Ordinary mail clients and browsers (none of them on the bot or prefetcher lists).
READER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.53(0x18003531) NetType/WIFI "
    "Language/zh_CN",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
]
REFERRERS = [
    ("https://www.google.com/", 5),
    ("https://www.baidu.com/link?url=demo", 4),
    ("https://www.bing.com/", 2),
    ("https://t.co/x", 2),
    ("https://www.zhihu.com/question/1", 2),
    ("https://mail.qq.com/", 1),
    ("", 4),
    ("https://partner.example.net/post", 1),
]
# Of the readers of a message: who opens it, and who of those clicks a link.
OPEN_SHARE = 0.45
CLICK_SHARE = 0.3
PAGE_VIEWS_PER_PAGE = (6, 18)
# Of a page's visitors: who follows one of its tracked links.
PAGE_CLICK_SHARE = 0.25
# A mail security gateway opens every link of the first few messages at once, as soon
# as they arrive: the scanner heuristics set those clicks apart as bots.
SCANNED_MESSAGES = 4
# Visitors of the partner site who click a placement's tracked links.
PLACEMENT_CLICKS = (5, 15)
# Readers who order in the shop after clicking (the running campaign's external goal).
ORDER_SHARE = 0.15


def load_analytics_demo(stdout=None) -> dict:
    counts = {"campaigns": 0, "publications": 0, "messages sent": 0, "events": 0}
    pages = _demo_pages()
    people = _people()
    accounts = _accounts()
    events_before = Event.objects.count()
    if pages and people and accounts:
        plan = _Plan(people, accounts, _Week.of_today())
        todo = [
            (slug, build)
            for slug, build in (
                (FINISHED_SLUG, plan.finished_campaign),
                (RUNNING_SLUG, plan.running_campaign),
            )
            if not Campaign.objects.filter(slug=slug).exists()
        ]
        if todo:
            with DemoMailSink() as sink, pointed_at(accounts["email"], sink):
                for _slug, build in todo:
                    build()
                sent_done = time.monotonic()
            counts["campaigns"] = len(todo)
            counts["publications"] = plan.publications
            counts["messages sent"] = len(sink.messages)
            readers = _Readers(random.Random(20261122))
            readers.goal = Goal.objects.filter(
                campaign__slug=RUNNING_SLUG, kind=Goal.Kind.EXTERNAL
            ).first()
            readers.scan(sink.messages[:SCANNED_MESSAGES])
            readers.read_mail(sink.messages, sent_done)
            readers.visit_placements(_placed_links(RUNNING_SLUG))
            readers.view_pages(pages)
    # The readers' requests wrote their pushes; a batch not yet due may still wait in a
    # corked socket. Send it all now, so the drain below finds every event (else the next
    # load_demo would store the stragglers).
    flush_pushes()
    drain_event_queue()
    # Counted now, not after the rollup's lag (events, scanner flags, are all settled).
    update_rollups(now=timezone.now() + rollup_lag())
    counts["events"] = Event.objects.count() - events_before
    counts["SEO analyses"] = _seed_seo_history(pages, timezone.now())
    return counts


def _demo_pages() -> list:
    pages = []
    for model in CONTENT_PAGE_MODELS:
        pages.extend(model.objects.live().order_by("pk")[:3])
    return pages


def _people() -> dict:
    """The demo marketer (campaigns/demo.py), who owns the campaigns and schedules their
    publications, and the approver who signs them off."""
    users = get_user_model().objects
    marketer = users.filter(username="marketer", is_active=True).first()
    approver = users.filter(username="approver", is_active=True).first()
    return {"marketer": marketer, "approver": approver} if marketer and approver else {}


def _accounts() -> dict:
    """The accounts channels/demo.py made; nothing is published without them."""
    names = {"email": SMTP_ACCOUNTS[0][0], "hub": HUB_BLOG[0], "manual": MANUAL_PLACEMENT}
    found = {key: ChannelAccount.objects.filter(name=name).first() for key, name in names.items()}
    return found if all(found.values()) else {}


@dataclasses.dataclass
class _Week:
    """This week on the team's wall clock (the calendar's weeks start on Monday)."""

    now: datetime.datetime
    zone: datetime.tzinfo
    monday: datetime.date

    @classmethod
    def of_today(cls) -> _Week:
        zone = get_zone(TEAM_TIME_ZONE)
        now = timezone.now().astimezone(zone)
        return cls(now, zone, now.date() - datetime.timedelta(days=now.weekday()))

    def at(self, day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
        return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=self.zone)

    def slots(self, hours=(10, 15)) -> tuple[list, list]:
        """(past, future) times from last week's Monday to next week's Sunday, one a
        day, plus one an hour ago and one in two hours, so today has both whenever the
        day allows."""
        times = [
            self.at(self.monday + datetime.timedelta(days=d), hours[d % len(hours)])
            for d in range(-7, 14)
        ]
        today = self.now.date()
        for extra in (
            self.now - datetime.timedelta(hours=1),
            self.now + datetime.timedelta(hours=2),
        ):
            if extra.date() == today:
                times.append(extra.replace(second=0, microsecond=0))
        times.sort()
        past = [t for t in times if t < self.now - datetime.timedelta(minutes=30)]
        future = [t for t in times if t > self.now + datetime.timedelta(minutes=30)]
        return past, future


class _Plan:
    """Builds the two campaigns through the campaign services."""

    def __init__(self, people: dict, accounts: dict, week: _Week):
        self.marketer = people["marketer"]
        self.approver = people["approver"]
        self.accounts = accounts
        self.week = week
        self.publications = 0
        self.customers = MailingList.objects.get(slug=LIST_SLUG)

    def _campaign(self, slug, name, start, end, **fields) -> Campaign:
        campaign = campaign_services.create_campaign(
            actor=self.marketer, name=name, slug=slug, start_date=start, end_date=end, **fields
        )
        # Approved straight from draft (the service allows it), as channels/demo.py does
        # for the e-zine: a submission would leave the approver a notice about a
        # campaign nobody waits on any more.
        campaign_services.approve_campaign(campaign, self.approver)
        return campaign

    def _publication(self, campaign, page, account, **fields) -> Publication:
        publication = Publication(
            campaign=campaign,
            page=page,
            channel_account=self.accounts[account],
            timezone=TEAM_TIME_ZONE,
            **fields,
        )
        campaign_services.save_publication(publication, self.marketer, schedule=False)
        self.publications += 1
        return publication

    def schedule(self, publication: Publication, when: datetime.datetime) -> None:
        campaign_services.schedule_publication(publication, when, self.marketer)

    def schedule_before(self, publication: Publication, when, scheduled_at) -> None:
        """Scheduled for `when`, as it was at `scheduled_at` (before `when`)."""
        campaign_services.schedule_publication(publication, when, self.marketer, now=scheduled_at)

    def publish_at(self, publication: Publication, when: datetime.datetime) -> None:
        """As it happened at `when`: scheduled (an hour before, unless it already was),
        claimed by the dispatcher once due, published by the publish service."""
        if publication.status == Publication.Status.DRAFT:
            self.schedule_before(publication, when, when - datetime.timedelta(hours=1))
        claimed = campaign_services.claim_due_publications(
            now=when, enqueue=lambda ids: _hand_on_others(ids, publication.pk)
        )
        if publication.pk not in claimed:
            raise RuntimeError(f"The dispatcher did not claim demo publication {publication.pk}")
        outcome = campaign_services.publish_publication(publication.pk, now_fn=lambda: when)
        if outcome != "published":
            publication.refresh_from_db()
            raise RuntimeError(
                f"Demo publication {publication} was not published ({outcome}): "
                f"{publication.last_error}"
            )
        publication.refresh_from_db()

    def finished_campaign(self) -> None:
        """Last month's launch: hub posts and partner placements (their tasks done),
        all published in its dates; finished since its end date passed."""
        first = (self.week.now.date().replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
        campaign = self._campaign(
            FINISHED_SLUG,
            "Autumn launch 2026 秋季新品",
            first,
            first + datetime.timedelta(days=20),
            goal="Introduce the autumn range to readers of the hub and of partner sites.",
            target_keyphrases="autumn range\n秋季新品",
        )
        # All planned before the launch began, so the campaign has work left until its
        # last post (the campaign's progress may follow each one at once).
        planned_at = self.week.at(first - datetime.timedelta(days=1), 18)
        plan = []
        for number, page in enumerate(BlogPostPage.objects.live().order_by("pk")[:3]):
            day = first + datetime.timedelta(days=2 + 5 * number)
            hub = self._publication(campaign, page, "hub", tags="launch")
            placement = self._publication(campaign, page, "manual")
            plan += [(hub, self.week.at(day, 10)), (placement, self.week.at(day, 15))]
        for publication, when in plan:
            self.schedule_before(publication, when, planned_at)
        for publication, when in plan:
            self.publish_at(publication, when)
            if publication.channel_account.kind == "manual/placement":
                complete_task(
                    task_for_publication(publication),
                    f"https://partner.example.net/features/{publication.page.slug}",
                    self.marketer,
                )
        campaign_services.update_campaign_progress(campaign.pk, today=self.week.now.date())

    def running_campaign(self) -> None:
        """This season's sale, running now: an email sent to every customer earlier
        this week (finished), the Chinese issue paused part way, a post on the hub or
        a partner placement in every slot of last week, this week and next: the past ones
        published (the latest placements still to be done by hand), the rest
        scheduled."""
        week = self.week
        campaign = self._campaign(
            RUNNING_SLUG,
            "Winter sale 2026 冬季大促",
            week.monday - datetime.timedelta(days=7),
            week.monday + datetime.timedelta(days=27),
            goal="Sell the winter range before the holidays, in English and Chinese.",
            description="Email to every customer, posts on the hub, partner placements.",
            target_keyphrases="winter sale\n冬季促销",
        )
        past, future = week.slots()
        # The English issue went out on the first morning of this week (last week's
        # last slot early on a Monday), the Chinese one in the latest slot.
        this_week = [t for t in past if t.date() >= week.monday]
        first_email = this_week[0] if this_week else past[-2]
        second_email = past[-1]
        self._send("en", campaign, first_email)
        self._send("zh-hans", campaign, second_email, stop_after=RUNNING_SEND_STOPS_AFTER)

        hub_pages = list(BlogPostPage.objects.live().order_by("pk")) + list(
            SoftArticlePage.objects.live().order_by("pk")
        )
        placements = []
        for number, when in enumerate(past + future):
            page = hub_pages[number % len(hub_pages)]
            kind = "manual" if isinstance(page, SoftArticlePage) or number % 3 == 2 else "hub"
            fields = {"tags": "promotions"} if kind == "hub" else {}
            publication = self._publication(campaign, page, kind, **fields)
            if when in past:
                self.publish_at(publication, when)
                if kind == "manual":
                    placements.append(publication)
            else:
                self.schedule(publication, when)
        # The older placements are done; the latest waits in the marketer's tasks.
        for publication in placements[:-1]:
            complete_task(
                task_for_publication(publication),
                f"https://partner.example.net/winter/{publication.page.slug}",
                self.marketer,
            )
        campaign_services.update_campaign_progress(campaign.pk, today=week.now.date())
        # What the sale is for: orders in the shop (its script reports them) and
        # readers reaching the sale's first hub page.
        Goal.objects.create(
            campaign=campaign,
            name="Winter sale order 冬季订单",
            kind=Goal.Kind.EXTERNAL,
            site_hosts="example.com example.cn",  # the company's shop, www. included
            target_count=40,
            target_value=8000,
        )
        Goal.objects.create(
            campaign=campaign, name="Read the sale post", kind=Goal.Kind.PAGE, page=hub_pages[0]
        )
        forget_goals()

    def _send(self, language: str, campaign, when, stop_after=None) -> None:
        page = EmailIssuePage.objects.live().filter(language=language).order_by("pk").first()
        if page is None:
            return
        publication = self._publication(campaign, page, "email")
        set_email_audience(publication, self.customers)
        self.publish_at(publication, when)
        run_send(publication, stop_after=stop_after)


def _hand_on_others(ids: list[int], own: int) -> None:
    """The dispatcher's hand-off for any other row it claimed (someone's own, due
    meanwhile): to the workers as usual. The demo publishes its own row itself."""
    others = [pk for pk in ids if pk != own]
    if others:
        campaign_services.announce_due_publications(others)


class _Readers:
    """People reading what the demo sent and browsing the hub, over HTTP."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        base = urlsplit(settings.SITE_BASE_URL)
        # The site's own host, as its readers ask for it; one this process serves
        # when the settings name another (a test's).
        served = [h for h in settings.ALLOWED_HOSTS if h and h[0] not in ".*"]
        self.host = base.netloc
        if not validate_host(base.hostname or "", settings.ALLOWED_HOSTS):
            self.host = served[0] if served else "127.0.0.1"
        self.secure = base.scheme == "https"
        self.requests = 0
        self.goal = None  # the external goal some readers reach after a click

    def _client(self, number: int) -> Client:
        return Client(
            HTTP_HOST=self.host,
            HTTP_USER_AGENT=READER_AGENTS[number % len(READER_AGENTS)],
            HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9,en;q=0.8" if number % 2 else "en-GB,en;q=0.9",
            # Documentation addresses (RFC 5737): one per reader.
            REMOTE_ADDR=f"198.51.{100 + number // 250}.{number % 250 + 1}",
        )

    def _get(self, client: Client, url: str):
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        response = client.get(path, secure=self.secure)
        if response.status_code not in (200, 302):
            raise RuntimeError(f"The demo reader got {response.status_code} for {path}")
        self.requests += 1
        return response

    def click(self, client: Client, url: str) -> None:
        """Follow a tracked link; some readers then order in the shop, whose goal script
        sends the order with the click id the link brought (or the hub's cookie)."""
        response = self._get(client, url)
        if self.goal is None or self.rng.random() >= ORDER_SHARE:
            return
        carried = parse_qs(urlsplit(response.get("Location", "")).query).get(CLICK_PARAM, [])
        query = {
            "value": self.rng.choice(["99.00", "199.00", "349.00"]),
            "currency": self.goal.currency,
            "order": f"DEMO-{self.requests}",
            CLICK_PARAM: carried,
        }
        self._get(client, f"/c/{self.goal.key}?{urlencode(query, doseq=True)}")

    def read_mail(self, messages: list[tuple[str, bytes]], sent_done: float) -> None:
        """Some readers open their message (its pixel); some of those click one of its
        links, after the scanner window."""
        clicks = []
        for number, (_recipient, raw) in enumerate(messages):
            if self.rng.random() >= OPEN_SHARE:
                continue
            pixel, links = _tracking_urls(raw)
            client = self._client(number)
            if pixel:
                self._get(client, pixel)
            if links and self.rng.random() < CLICK_SHARE:
                clicks.append((client, self.rng.choice(links)))
                if self.rng.random() < 0.2:  # back for the same link: not a new clicker
                    clicks.append((client, clicks[-1][1]))
        time.sleep(max(0.0, CLICK_AFTER_SECONDS - (time.monotonic() - sent_done)))
        for client, link in clicks:
            self.click(client, link)

    def scan(self, messages: list[tuple[str, bytes]]) -> None:
        """A security gateway fetching every link of each message, one after another."""
        for number, (_recipient, raw) in enumerate(messages):
            client = self._client(5000 + number)
            for link in _tracking_urls(raw)[1]:
                self._get(client, link)

    def visit_placements(self, links_by_placement: list[list[str]]) -> None:
        """Readers of the partner site clicking the tracked links of the copy placed
        there by hand."""
        for index, links in enumerate(links_by_placement):
            for visit in range(self.rng.randrange(*PLACEMENT_CLICKS) if links else 0):
                client = self._client(3000 + index * 50 + visit)
                client.defaults["HTTP_REFERER"] = "https://partner.example.net/"
                self.click(client, self.rng.choice(links))

    def view_pages(self, pages) -> None:
        """Visits to the hub's pages through the page-view beacon, from search engines,
        social sites, mail and direct; some visitors then follow one of the page's
        tracked links (where the hub tracks its outbound links)."""
        weights = [w for _r, w in REFERRERS]
        for index, page in enumerate(pages):
            url = page.full_url or ""
            links = self._page_links(urlsplit(url).path)
            for visit in range(self.rng.randrange(*PAGE_VIEWS_PER_PAGE)):
                referrer = self.rng.choices([r for r, _w in REFERRERS], weights)[0]
                client = self._client(1000 + index * 50 + visit)
                response = client.post(
                    "/a/pv", {"p": page.pk, "r": referrer, "u": url}, secure=self.secure
                )
                if response.status_code != 204:
                    raise RuntimeError(f"The page-view beacon answered {response.status_code}")
                self.requests += 1
                if links and self.rng.random() < PAGE_CLICK_SHARE:
                    client.defaults["HTTP_REFERER"] = url
                    self._get(client, self.rng.choice(links))

    def _page_links(self, path: str) -> list[str]:
        """The tracked links (/t/...) on the page at `path`, as the hub serves it."""
        response = self._client(0).get(path or "/", secure=self.secure)
        if response.status_code != 200:
            return []
        return [
            href
            for href in dict.fromkeys(_HREF.findall(response.content.decode(errors="replace")))
            if urlsplit(href).path.startswith("/t/") and not urlsplit(href).path.startswith("/t/o/")
        ]


def _placed_links(slug: str) -> list[list[str]]:
    """The tracked links of each placement of campaign `slug` that has been done."""
    return [
        list(task.links)
        for task in ManualPlacementTask.objects.filter(
            publication__campaign__slug=slug, status=ManualPlacementTask.Status.DONE
        ).order_by("pk")
    ]


_URL = re.compile(r"""https?://[^\s"'<>]+""")
_HREF = re.compile(r'href="([^"]+)"')


def _tracking_urls(raw: bytes) -> tuple[str, list[str]]:
    """(open pixel URL, tracked link URLs) of a caught message's HTML part."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    part = message.get_body(preferencelist=("html",))
    html = part.get_content() if part is not None else ""
    pixel, links = "", []
    for url in dict.fromkeys(u.replace("&amp;", "&") for u in _URL.findall(html)):
        path = urlsplit(url).path
        if path.startswith("/t/o/"):
            pixel = url
        elif path.startswith("/t/"):
            links.append(url)
    return pixel, links


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
