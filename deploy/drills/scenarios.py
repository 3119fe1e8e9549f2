"""The fault drills. Each builds its own rows, starts real worker/beat/web processes,
injects one fault, waits for the system to finish, and counts outside our database
(at the SMTP sink, at the loopback channel, or the HTTP answers the clients got).

A drill whose code under test has not landed yet is reported PENDING with what is
missing (see `missing`); it is never faked.
"""

from __future__ import annotations

import collections
import datetime
import importlib
import os
import threading
import time
import uuid
from dataclasses import dataclass, field

from .infra import CELERY, GUNICORN, DrillError, Proc, free_port, python_env, wait_for


@dataclass
class Row:
    drill: str
    broker: str
    expected: int = 0
    received: int = 0
    duplicates: int = 0
    lost: int = 0
    recover_s: float | None = None
    status: str = "PASS"  # PASS, FAIL, PENDING, ERROR
    note: str = ""
    extra: dict = field(default_factory=dict)


def missing(*dotted: str) -> list[str]:
    """Which of `module.attr` names do not exist (yet)."""
    absent = []
    for name in dotted:
        module, _, attr = name.rpartition(".")
        try:
            obj = importlib.import_module(module)
            if attr and not hasattr(obj, attr):
                absent.append(name)
        except ImportError:
            absent.append(name)
    return absent


def beat_entry_for(fragment: str) -> bool:
    from config.celery import app

    return any(fragment in e.get("task", "") for e in app.conf.beat_schedule.values())


class Context:
    """What every drill gets: the private services, the counters, and process helpers."""

    def __init__(self, pg, redis, sink, channel, log_dir, broker_name, broker_url, drill=""):
        self.pg, self.redis, self.sink, self.channel = pg, redis, sink, channel
        self.log_dir, self.broker_name, self.broker_url = log_dir, broker_name, broker_url
        # Log files are named <drill>-<broker>-<process>.log: one file per process.
        self.prefix = f"{drill}-{broker_name}" if drill else broker_name
        self.procs: list[Proc] = []
        self.run_id = uuid.uuid4().hex[:6]

    def env(self, **extra) -> dict:
        return python_env(
            DATABASE_URL=self.pg.url("drill"),
            CELERY_BROKER_URL=self.broker_url,
            REDIS_URL=self.redis.url(1),
            **extra,
        )

    def worker(self, name: str, concurrency: int = 2) -> Proc:
        hostname = f"{name}-{self.run_id}@drill"
        proc = Proc(
            f"{self.prefix}-{name}",
            [
                CELERY,
                "-A",
                "deploy.drills.celery_app",
                "worker",
                "-Q",
                "publishing,sending,tracking,celery",
                "-c",
                str(concurrency),
                "-n",
                hostname,
                "--without-gossip",
                "--without-mingle",
                "-l",
                "WARNING",
            ],
            self.env(),
            self.log_dir,
        )
        proc.hostname = hostname
        self.procs.append(proc)
        from config.celery import app

        wait_for(
            lambda: app.control.ping(destination=[hostname], timeout=1.0),
            # A cold worker imports Django and Wagtail: seconds on an idle machine,
            # minutes on a saturated one.
            float(os.environ.get("DRILL_START_TIMEOUT", "180")),
            interval=0.5,
            what=f"worker {hostname} to answer a ping",
            abort=proc.exited,
        )
        return proc

    def beat(self, name: str = "beat") -> Proc:
        proc = Proc(
            f"{self.prefix}-{name}",
            [
                CELERY,
                "-A",
                "deploy.drills.celery_app",
                "beat",
                "-s",
                str(self.log_dir / f"{self.prefix}-{name}-{self.run_id}.schedule"),
                "-l",
                "WARNING",
            ],
            self.env(),
            self.log_dir,
        )
        self.procs.append(proc)
        time.sleep(1.0)
        if not proc.alive():
            raise DrillError(f"beat {name} exited: {proc.tail()}")
        return proc

    def web(self) -> tuple[Proc, int]:
        port = free_port()
        proc = Proc(
            f"{self.prefix}-web",
            [GUNICORN, "-c", "deploy/gunicorn.conf.py", "config.wsgi"],
            # gunicorn refuses an empty log or heartbeat path ("'' isn't writable"): the
            # access log goes nowhere, heartbeats to the config's default (/dev/shm).
            self.env(
                GUNICORN_BIND=f"127.0.0.1:{port}",
                WEB_CONCURRENCY=2,
                GUNICORN_THREADS=8,
                GUNICORN_ACCESSLOG="/dev/null",
            ),
            self.log_dir,
        )
        self.procs.append(proc)
        import httpx

        wait_for(
            lambda: httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200,
            60,
            interval=0.5,
            what="gunicorn to answer /healthz",
            abort=proc.exited,
        )
        return proc, port

    def unexpected_exits(self) -> list[str]:
        """Processes that died during the drill without the drill killing them (a
        worker that crashes when its broker restarts is a finding, not noise)."""
        return [
            f"{p.name} (pid {p.pid}) exited with status {p.popen.returncode}"
            for p in self.procs
            if not p.killed and not p.alive()
        ]

    def stop_all(self):
        for proc in reversed(self.procs):
            proc.stop()
        self.procs.clear()


# --- fixtures built through the services ----------------------------------------------------


def _owner():
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(
        username="drill", defaults={"email": "drill@example.com"}
    )
    return user


def _campaign(name: str):
    from campaigns.models import Campaign

    today = datetime.date.today()
    return Campaign.objects.create(
        name=name,
        slug=f"{name}-{uuid.uuid4().hex[:6]}",
        owner=_owner(),
        start_date=today - datetime.timedelta(days=1),
        end_date=today + datetime.timedelta(days=2),
        status=Campaign.Status.APPROVED,
    )


def _live_page():
    """An approved page for the drill's publications: the site's HomePage, created (and
    published, so it has a live revision) on first use. The page Wagtail's own
    migration creates is live but has no revision, so scheduling refuses it as not
    approved."""
    from wagtail.models import Page

    from content.models import HomePage

    home = HomePage.objects.filter(live=True, live_revision__isnull=False).first()
    if home is None:
        home = HomePage(title="Drill home", slug=f"drill-home-{uuid.uuid4().hex[:6]}")
        Page.get_first_root_node().add_child(instance=home)
        home.save_revision().publish()
    return home


def _schedule(publications, first_due: datetime.datetime, spread_s: float):
    from campaigns.services import schedule_publication

    n = len(publications)
    for i, pub in enumerate(publications):
        schedule_publication(pub, first_due + datetime.timedelta(seconds=spread_s * i / max(n, 1)))


def _counter_publications(ctx: Context, drill: str, n: int):
    from campaigns.models import Publication
    from channels.models import ChannelAccount

    account = ChannelAccount.objects.create(
        kind="blog/drill_counter",
        name=f"{drill}-{ctx.broker_name}-{ctx.run_id}",
        settings={"base_url": f"http://127.0.0.1:{ctx.channel.port}"},
        is_internal=True,
        rate_limit_per_minute=0,
    )
    campaign, page = _campaign(drill), _live_page()
    pubs = Publication.objects.bulk_create(
        [Publication(campaign=campaign, page=page, channel_account=account) for _ in range(n)]
    )
    return list(Publication.objects.filter(pk__in=[p.pk for p in pubs]))


def _count_publications(ctx: Context, pubs, row: Row):
    from campaigns.models import Publication

    keys = {str(p.idempotency_key) for p in pubs}
    counts = ctx.channel.snapshot()
    row.expected = len(keys)
    row.received = sum(counts[k] for k in keys)
    row.duplicates = sum(max(counts[k] - 1, 0) for k in keys)
    row.lost = sum(1 for k in keys if counts[k] == 0)
    statuses = Publication.objects.filter(pk__in=[p.pk for p in pubs]).values_list(
        "status", flat=True
    )
    not_published = sum(1 for s in statuses if s != Publication.Status.PUBLISHED)
    if not_published:
        row.note = f"{not_published} not marked published in the database"
    row.status = "PASS" if not row.duplicates and not row.lost and not not_published else "FAIL"


def _all_received(ctx: Context, pubs) -> bool:
    from campaigns.models import Publication

    keys = {str(p.idempotency_key) for p in pubs}
    counts = ctx.channel.snapshot()
    if not all(counts[k] for k in keys):
        return False
    return (
        not Publication.objects.filter(pk__in=[p.pk for p in pubs])
        .exclude(status=Publication.Status.PUBLISHED)
        .exists()
    )


# --- drills ------------------------------------------------------------------------------------


PUBLISHING_NEEDS = (
    "campaigns.services.schedule_publication",
    "campaigns.services.claim_due_publications",
    "campaigns.services.publish_publication",
    "campaigns.services.sweep_stuck_publications",
)


def drill_pg_restart_dispatch(ctx: Context, n: int = 300) -> Row:
    """Restart PostgreSQL while the dispatcher claims and workers publish: no publication
    posted twice, none forgotten."""
    row = Row("pg-restart-dispatch", ctx.broker_name)
    if absent := missing(*PUBLISHING_NEEDS):
        return Row(
            row.drill, ctx.broker_name, status="PENDING", note="missing " + ", ".join(absent)
        )
    pubs = _counter_publications(ctx, row.drill, n)
    ctx.worker("pgw1")
    ctx.worker("pgw2")
    ctx.beat()
    from django.utils import timezone

    _schedule(pubs, timezone.now() + datetime.timedelta(seconds=2), spread_s=12)
    keys = {str(p.idempotency_key) for p in pubs}
    wait_for(
        lambda: _count_present(ctx.channel.snapshot(), keys) >= n // 4,
        60,
        what="a quarter of the publications to be posted",
    )
    from django.db import connections

    connections.close_all()
    fault = time.monotonic()
    down = ctx.pg.restart(down_seconds=3)
    connections.close_all()
    wait_for(
        lambda: _all_received(ctx, pubs),
        120,
        interval=0.5,
        what="every publication posted and marked published",
    )
    row.recover_s = round(time.monotonic() - fault, 1)
    row.extra["down_s"] = round(down, 1)
    _count_publications(ctx, pubs, row)
    return row


def drill_two_beats(ctx: Context, n: int = 120, seconds: float = 60) -> Row:
    """Two beats (two dispatchers, two sweepers) for a minute: every due publication is
    posted exactly once."""
    row = Row("two-beats", ctx.broker_name)
    if absent := missing(*PUBLISHING_NEEDS):
        return Row(
            row.drill, ctx.broker_name, status="PENDING", note="missing " + ", ".join(absent)
        )
    pubs = _counter_publications(ctx, row.drill, n)
    ctx.worker("bw1")
    ctx.worker("bw2")
    from django.utils import timezone

    _schedule(pubs, timezone.now() + datetime.timedelta(seconds=3), spread_s=max(seconds - 8, 1))
    ctx.beat("beat-a")
    ctx.beat("beat-b")
    started = time.monotonic()
    time.sleep(max(seconds - (time.monotonic() - started), 0))
    wait_for(
        lambda: _all_received(ctx, pubs),
        60,
        interval=0.5,
        what="every publication posted and marked published",
    )
    row.extra["ran_s"] = round(time.monotonic() - started, 1)
    # No single fault to recover from: the time shown is the worst lateness (posted at
    # minus due at) of any publication while both beats ran.
    from campaigns.models import Publication

    lateness = [
        (published - due).total_seconds()
        for published, due in Publication.objects.filter(pk__in=[p.pk for p in pubs])
        .exclude(published_at=None)
        .values_list("published_at", "publish_at")
    ]
    row.recover_s = round(max(lateness), 1) if lateness else None
    _count_publications(ctx, pubs, row)
    return row


EMAIL_NEEDS = (
    "channels.email.services.start_email_send",
    "channels.email.services.set_email_audience",
    "channels.email.tasks.send_email_batch",
    "campaigns.audiences.models.Subscriber",
    "campaigns.audiences.models.Subscription",
    "content.models.EmailIssuePage",
)


def _email_missing() -> list[str]:
    absent = missing(*PUBLISHING_NEEDS, *EMAIL_NEEDS)
    if not absent and not beat_entry_for("email"):
        absent.append("a beat entry for the e-mail pump (restarts dead batch chains)")
    return absent


def _email_publication(ctx: Context, drill: str, n: int):
    from django.utils import timezone
    from wagtail.models import Page

    from campaigns.audiences.models import MailingList, Subscriber, Subscription
    from campaigns.models import Publication
    from channels.email.services import set_email_audience
    from channels.models import ChannelAccount
    from content.models import EmailIssueIndexPage, EmailIssuePage

    tag = f"{drill}-{ctx.broker_name}-{ctx.run_id}"
    mailing_list = MailingList.objects.create(name=tag, slug=tag)
    now = timezone.now()
    subscribers = Subscriber.objects.bulk_create(
        [Subscriber(email=f"r{i}.{tag}@drill.example", name=f"R {i}") for i in range(n)],
        batch_size=2000,
    )
    Subscription.objects.bulk_create(
        [
            Subscription(
                subscriber=s,
                mailing_list=mailing_list,
                status=Subscription.Status.SUBSCRIBED,
                consent_at=now,
                consent_method=Subscription.Method.IMPORT,
                consent_basis="drill",
                confirmed_at=now,
            )
            for s in subscribers
        ],
        batch_size=2000,
    )
    home = _live_page()
    index = EmailIssueIndexPage.objects.first()
    if index is None:
        index = EmailIssueIndexPage(title="Drill newsletter", slug=f"drill-news-{ctx.run_id}")
        home.add_child(instance=index)
        index.save_revision().publish()
    issue = EmailIssuePage(
        title=f"Drill {tag}",
        slug=tag,
        subject=f"Drill {tag}",
        preheader="drill",
        body=[("paragraph", '<p>Hello. <a href="https://example.com/x">Read</a></p>')],
    )
    Page.objects.get(pk=index.pk).specific.add_child(instance=issue)
    issue.save_revision().publish()
    account = ChannelAccount.objects.create(
        kind="email/smtp",
        name=tag,
        is_internal=True,
        rate_limit_per_minute=0,
        settings={
            "host": "127.0.0.1",
            "port": ctx.sink.port,
            "security": "none",
            "from_email": "news@drill.example",
            "from_name": "Drill",
            "postal_address": "1 Drill Street, Testville",
            "batch_size": 100,
            "concurrency": 2,
            # Slow enough (5,000 messages in ~12 s) that the fault lands mid-send: the
            # loop sends ~2,000/s unthrottled, faster than the drill can react.
            "rate_limit_per_second": 400,
        },
    )
    pub = Publication.objects.create(
        campaign=_campaign(drill), page=issue, channel_account=account, email_subject=tag
    )
    set_email_audience(pub, mailing_list)
    return pub, {s.email.lower() for s in subscribers}


def _count_emails(ctx: Context, recipients: set[str], row: Row):
    counts = ctx.sink.snapshot()
    row.expected = len(recipients)
    row.received = sum(counts[r] for r in recipients)
    row.duplicates = sum(max(counts[r] - 1, 0) for r in recipients)
    row.lost = sum(1 for r in recipients if counts[r] == 0)
    row.status = "PASS" if not row.duplicates and not row.lost else "FAIL"


def _count_present(counts, keys) -> int:
    """How many of `keys` appear in `counts` (one snapshot of the sink or the channel).
    Taking a snapshot per key instead re-read the sink's whole log for every recipient:
    seconds per check on a slow machine, so the fault landed late or after the send."""
    return sum(1 for key in keys if counts[key])


def _email_drill(ctx: Context, drill: str, n: int, fault) -> Row:
    row = Row(drill, ctx.broker_name)
    if absent := _email_missing():
        return Row(drill, ctx.broker_name, status="PENDING", note="missing " + ", ".join(absent))
    pub, recipients = _email_publication(ctx, drill, n)
    worker = ctx.worker("mail1")
    ctx.beat()
    from django.utils import timezone

    _schedule([pub], timezone.now() + datetime.timedelta(seconds=2), spread_s=0)
    wait_for(
        lambda: _count_present(ctx.sink.snapshot(), recipients) >= n * 0.3,
        180,
        interval=0.1,
        what="30% of the messages to arrive",
    )
    from channels.email.models import Delivery

    unsent = Delivery.objects.filter(publication=pub).exclude(status=Delivery.Status.SENT)
    started = time.monotonic()
    if not unsent.exists():
        row.status, row.note = "FAIL", "the send had finished before the fault: nothing tested"
        return row
    row.extra.update(fault(worker, pub) or {})
    try:
        wait_for(
            lambda: _count_present(ctx.sink.snapshot(), recipients) == len(recipients),
            180,
            interval=0.5,
            what="every recipient to receive the message",
        )
        row.recover_s = round(time.monotonic() - started, 1)
        time.sleep(2)  # late duplicates would arrive now
    except DrillError as exc:
        row.note = str(exc)
    _count_emails(ctx, recipients, row)
    return row


def drill_kill9_send(ctx: Context, n: int = 5000) -> Row:
    """kill -9 the worker in the middle of a 5,000-recipient send, start a new one:
    every recipient gets exactly one message, counted at the SMTP sink."""

    def fault(worker, pub):
        from channels.email.models import Delivery

        worker.kill9()
        # Rows the dead worker had claimed and not finished: they come back only when
        # their lease expires (shows that the kill hit a batch in flight).
        claimed = Delivery.objects.filter(publication=pub, status=Delivery.Status.SENDING)
        sent = Delivery.objects.filter(publication=pub, status=Delivery.Status.SENT)
        extra = {
            "killed_pid": worker.pid,
            "claimed_by_dead_worker": claimed.count(),
            "sent_before_kill": sent.count(),
        }
        ctx.worker("mail2")
        return extra

    return _email_drill(ctx, "kill9-send", n, fault)


def drill_redis_restart_send(ctx: Context, n: int = 2000) -> Row:
    """Restart (our own) Redis during a send: it completes without duplicates."""

    def fault(worker, pub):
        return {"redis_down_s": round(ctx.redis.restart(down_seconds=2), 1)}

    return _email_drill(ctx, "redis-restart-send", n, fault)


def drill_redis_restart_clicks(ctx: Context, n: int = 1500, threads: int = 8) -> Row:
    """Restart Redis during a burst of clicks on a tracked link: every click the client
    got a redirect for is recorded (none lost, none twice)."""
    row = Row("redis-restart-clicks", ctx.broker_name)
    absent = missing(
        "analytics.links.tracked_url",
        "analytics.draining.drain_event_queue",
        "analytics.models.Event",
        "analytics.models.TrackedLink",
    )
    if not absent and not beat_entry_for("drain"):
        absent.append("a beat entry for the analytics drain task")
    if absent:
        return Row(
            row.drill, ctx.broker_name, status="PENDING", note="missing " + ", ".join(absent)
        )
    import httpx

    from analytics.links import tracked_url
    from analytics.models import Event, TrackedLink

    url = tracked_url(
        f"https://example.com/drill/{ctx.run_id}/{ctx.broker_name}",
        campaign=_campaign("clicks"),
        channel="blog",
        medium="drill",
    )
    code = url.rstrip("/").rsplit("/", 1)[1]
    link = TrackedLink.objects.get(code=code)
    ctx.worker("track1")
    ctx.beat()
    _web, port = ctx.web()
    # Every click carries its own id in the User-Agent, which the event stores: the
    # count is per click (this one was acknowledged, is it stored exactly once?).
    prefix = f"Mozilla/5.0 (drill {ctx.run_id})"
    acked: set[str] = set()
    failed: set[str] = set()
    lock = threading.Lock()

    def clicker(worker_no: int, count: int):
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            for i in range(count):
                click_id = f"{prefix} click-{worker_no}-{i}"
                try:
                    r = client.get(f"/t/{code}", headers={"User-Agent": click_id})
                    ok = r.status_code == 302
                except httpx.HTTPError:
                    ok = False
                with lock:
                    (acked if ok else failed).add(click_id)

    def sent() -> int:
        with lock:
            return len(acked) + len(failed)

    shares = [n // threads + (1 if i < n % threads else 0) for i in range(threads)]
    pool = [threading.Thread(target=clicker, args=(i, c)) for i, c in enumerate(shares)]
    for t in pool:
        t.start()
    wait_for(lambda: sent() >= n // 3, 120, interval=0.05, what="a third of the clicks")
    fault, before = time.monotonic(), sent()
    row.extra["redis_down_s"] = round(ctx.redis.restart(down_seconds=2), 1)
    # Clicks answered while Redis was stopped or starting: the fallback path.
    row.extra["clicks_during_restart"] = sent() - before
    for t in pool:
        t.join()

    def recorded() -> collections.Counter:
        return collections.Counter(
            Event.objects.filter(
                kind="click", link_id=link.pk, user_agent__startswith=prefix
            ).values_list("user_agent", flat=True)
        )

    try:
        wait_for(
            lambda: all(recorded()[c] for c in acked),
            90,
            interval=0.5,
            what="every acknowledged click to be recorded",
        )
        row.recover_s = round(time.monotonic() - fault, 1)
        time.sleep(3)  # a late duplicate (a batch drained twice) would be stored now
    except DrillError as exc:
        row.note = str(exc)
    counts = recorded()
    row.expected = len(acked)
    row.received = sum(counts[c] for c in acked)
    row.duplicates = sum(max(times - 1, 0) for times in counts.values())
    row.lost = sum(1 for c in acked if not counts[c])
    row.extra["sent"] = n
    if failed:
        # A click that got no redirect is not acknowledged: it may or may not be stored.
        row.extra["no_redirect"] = len(failed)
        row.extra["no_redirect_stored"] = sum(1 for c in failed if counts[c])
    row.status = "PASS" if not row.duplicates and not row.lost else "FAIL"
    return row


DRILLS = {
    "kill9-send": drill_kill9_send,
    "redis-restart-send": drill_redis_restart_send,
    "redis-restart-clicks": drill_redis_restart_clicks,
    "pg-restart-dispatch": drill_pg_restart_dispatch,
    "two-beats": drill_two_beats,
}
