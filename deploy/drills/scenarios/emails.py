"""The e-mail drills: kill -9 a worker mid-send, restart Redis mid-send. Both count at
the SMTP sink, per recipient."""

from __future__ import annotations

import datetime
import time

from ..infra import DrillError, wait_for
from .base import Context, Row, beat_entry_for, missing, pending_row
from .fixtures import count_present, drill_campaign, live_page, schedule_spread
from .publishing import PUBLISHING_NEEDS

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
    home = live_page()
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
        campaign=drill_campaign(drill), page=issue, channel_account=account, email_subject=tag
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


def _email_drill(ctx: Context, drill: str, n: int, fault) -> Row:
    row = Row(drill, ctx.broker_name)
    if absent := _email_missing():
        return pending_row(drill, ctx.broker_name, absent)
    pub, recipients = _email_publication(ctx, drill, n)
    worker = ctx.worker("mail1")
    ctx.beat()
    from django.utils import timezone

    schedule_spread([pub], timezone.now() + datetime.timedelta(seconds=2), spread_s=0)
    wait_for(
        lambda: count_present(ctx.sink.snapshot(), recipients) >= n * 0.3,
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
            lambda: count_present(ctx.sink.snapshot(), recipients) == len(recipients),
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
