"""Demo channels for `manage.py load_demo`: an account of every channel kind (the SMTP
and e-zine accounts and the manual placement filled in through the account form and its
service, the SMTP ones pointing at a local mail catcher on 127.0.0.1:1025; the remote
blogs and forums inactive, their names saying what to fill in), a campaign waiting for
approval with an email publication to a segment and a draft blog publication, and the
weekly e-zine (cadence, sections, postal address) with its own approved campaign. Runs
after campaigns/demo.py (the users, the lists and the segment) and before the analytics
demo, which publishes and sends through these accounts. Idempotent: found by name and
slug."""

from __future__ import annotations

import contextlib
import datetime
import socket

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone

from campaigns import services as campaign_services
from campaigns.audiences.models import MailingList, Segment
from campaigns.demo import LIST_SLUG, SEGMENT_NAME, TEAM_TIME_ZONE
from campaigns.models import Campaign, Publication
from campaigns.recurrence import get_zone
from content.models import BlogPostPage, EmailIssuePage, EZinePage

from .email.control import control_email_send
from .email.models import EmailSend
from .email.services import send_next_batch, set_email_audience
from .ezine.models import EZine, PartnerFeed
from .ezine.services import next_run_after
from .forms import SETTINGS_PREFIX, ChannelAccountForm
from .models import ChannelAccount
from .services import save_channel_account

MAIL_CATCHER = ("127.0.0.1", 1025)
POSTAL_ADDRESS = "Campaign Hub Ltd., 100 Century Avenue, Pudong, Shanghai 200120, China"
# (name, kind, from name, from address). The names are the analytics demo's, so its
# dashboards show these accounts rather than unconfigured twins.
SMTP_ACCOUNTS = [
    ("Demo newsletter", "email/smtp", "Campaign Hub", "news@example.com"),
    ("Demo e-zine", "ezine/email", "Growth Notes", "growth-notes@example.com"),
]
HUB_BLOG = ("Demo hub blog", "blog/wagtail_site")
MANUAL_PLACEMENT = "Demo partner site (manual placement)"
MANUAL_SETTINGS = {
    "site_name": "Partner Weekly 合作伙伴周刊",
    "expected_domain": "partner.example.net",
    "instructions": "Post the copy in the partner's CMS, then paste the public address here.",
    "overdue_after_hours": 24,
}
# The channels that talk to someone else's server: present so every kind shows on the
# screens, inactive (nothing is scheduled onto them) until someone fills them in. The
# name says what to fill in (the account has no notes field).
REMOTE_ACCOUNTS = [
    (
        "blog/wordpress",
        "Demo WordPress (inactive: fill in site URL, user name, application password)",
    ),
    (
        "blog/metaweblog",
        "Demo cnblogs MetaWeblog (inactive: fill in endpoint, blog id, user, password)",
    ),
    ("forum/discourse", "Demo Discourse (inactive: fill in forum URL, API user name, API key)"),
    ("forum/reddit", "Demo Reddit (inactive: fill in subreddit and app id, then Connect)"),
]

AWAITING_SLUG = "demo-double-twelve"
EZINE_CAMPAIGN_SLUG = "demo-growth-notes"
EZINE_PAGE_SLUG = "growth-notes"
# Every Monday at 09:00, read in Shanghai (01:00 UTC).
EZINE_CADENCE = "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0"


def load_channels_demo(stdout=None) -> dict:
    counts = {"channel accounts": 0, "campaigns": 0, "publications": 0, "e-zines": 0}
    mailing_list = MailingList.objects.filter(slug=LIST_SLUG).first()
    if mailing_list is None:
        return counts  # campaigns.demo did not run: nothing to send to
    accounts = {}
    for name, kind, from_name, from_email in SMTP_ACCOUNTS:
        accounts[kind], created = _smtp_account(name, kind, from_name, from_email, mailing_list)
        counts["channel accounts"] += created
    hub_blog, created = ChannelAccount.objects.get_or_create(
        name=HUB_BLOG[0], defaults={"kind": HUB_BLOG[1]}
    )
    counts["channel accounts"] += created
    counts["channel accounts"] += _form_account(
        MANUAL_PLACEMENT, "manual/placement", MANUAL_SETTINGS, internal=False
    )[1]
    for kind, name in REMOTE_ACCOUNTS:
        # Only while the kind has no account: once someone fills it in (and renames
        # it), a later run adds no inactive twin.
        if not ChannelAccount.objects.filter(kind=kind).exists():
            ChannelAccount.objects.create(kind=kind, name=name, is_active=False)
            counts["channel accounts"] += 1
    User = get_user_model()
    marketer = User.objects.get(username="marketer")
    approver = User.objects.get(username="approver")
    if not Campaign.objects.filter(slug=AWAITING_SLUG).exists():
        segment = Segment.objects.get(mailing_list=mailing_list, name=SEGMENT_NAME)
        counts["publications"] += _awaiting_campaign(
            marketer, accounts["email/smtp"], hub_blog, segment
        )
        counts["campaigns"] += 1
    if not EZine.objects.filter(page__slug=EZINE_PAGE_SLUG).exists():
        page = EZinePage.objects.filter(slug=EZINE_PAGE_SLUG).first()
        if page is not None:
            campaign = _ezine_campaign(marketer, approver)
            counts["campaigns"] += 1
            counts["e-zines"] += _ezine(page, campaign, accounts["ezine/email"], mailing_list)
    return counts


def _smtp_account(name, kind, from_name, from_email, mailing_list) -> tuple[ChannelAccount, int]:
    """The SMTP account as a marketer fills in its form. An account that already has a
    host (configured by someone) is left as it is."""
    host, port = MAIL_CATCHER
    values = {
        "host": host,
        "port": port,
        "security": "none",
        "from_name": from_name,
        "from_email": from_email,
        "reply_to": from_email,
        "postal_address": POSTAL_ADDRESS,
        "default_list": mailing_list.slug,
        "rate_limit_per_second": 20,
    }
    # The catcher is on the loopback address, which only an internal account reaches.
    return _form_account(name, kind, values, internal=True, configured_by="host")


def _form_account(
    name, kind, values: dict, *, internal: bool, configured_by: str = ""
) -> tuple[ChannelAccount, int]:
    """The account as a marketer fills in its form: declared settings, checked by the
    form's typed fields, saved by the account service. An existing account is left as
    it is once its `configured_by` setting is filled (someone may have changed it)."""
    account = ChannelAccount.objects.filter(name=name).first()
    key = configured_by or next(iter(values))
    if account is not None and (account.settings or {}).get(key):
        return account, 0
    created = account is None
    if created:
        account = ChannelAccount(kind=kind)
    data = {
        "name": name,
        "is_active": "on",
        "rate_limit_per_minute": str(account.rate_limit_per_minute),
        **{SETTINGS_PREFIX + key: str(value) for key, value in values.items()},
    }
    if internal:
        data["is_internal"] = "on"
    form = ChannelAccountForm(data, instance=account, kind=kind)
    if not form.is_valid():
        raise ValidationError(f"Demo account {name}: {form.errors.as_text()}")
    new_secrets, cleared = form.secrets_value()
    save_channel_account(
        form.save(commit=False),
        settings=form.settings_value(),
        new_secrets=new_secrets,
        cleared=cleared,
    )
    return account, int(created)


def _at_local(days: int, hour: int, minute: int = 0) -> datetime.datetime:
    """`days` from today at hour:minute on the team's wall clock (aware)."""
    zone = get_zone(TEAM_TIME_ZONE)
    day = timezone.now().astimezone(zone).date() + datetime.timedelta(days=days)
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=zone)


def _awaiting_campaign(marketer, email_account, hub_blog, segment) -> int:
    """The marketer's Double Twelve campaign, built as on the campaign screens and then
    submitted: every approver is notified (the demo approver in Chinese)."""
    today = timezone.now().astimezone(get_zone(TEAM_TIME_ZONE)).date()
    campaign = campaign_services.create_campaign(
        actor=marketer,
        name="双十二大促 2026 (Double Twelve)",
        slug=AWAITING_SLUG,
        goal="Bring VIP customers back for the December 12 sale.",
        description="A VIP email in Chinese, then a blog post on the hub.",
        start_date=today,
        end_date=today + datetime.timedelta(days=30),
        target_keyphrases="双十二\n年终促销",
    )
    email_page = EmailIssuePage.objects.live().filter(language="zh-hans").first()
    blog_page = BlogPostPage.objects.live().order_by("pk").first()
    created = 0
    if email_page is not None:
        email = Publication(
            campaign=campaign,
            page=email_page,
            channel_account=email_account,
            timezone=TEAM_TIME_ZONE,
            # A plan until the campaign is approved: only then can it be scheduled.
            publish_at=_at_local(days=3, hour=8, minute=30),
            email_subject="双十二VIP专享：提前一天购物",
            email_preheader="只给老朋友的年终优惠",
        )
        campaign_services.save_publication(email, marketer, schedule=False)
        set_email_audience(email, segment.mailing_list, segment)
        created += 1
    if blog_page is not None:
        blog = Publication(
            campaign=campaign,
            page=blog_page,
            channel_account=hub_blog,
            timezone=TEAM_TIME_ZONE,
            tags="promotions",
        )
        campaign_services.save_publication(blog, marketer, schedule=False)
        created += 1
    campaign_services.submit_campaign_for_approval(campaign, actor=marketer)
    return created


def _ezine_campaign(marketer, approver) -> Campaign:
    """The e-zine's year-long campaign, approved by the approver, so its weekly issues
    may go out. Approved straight from draft (the service allows it): a submission would
    leave the approver a notice about a campaign nobody waits on any more."""
    today = timezone.now().astimezone(get_zone(TEAM_TIME_ZONE)).date()
    campaign = campaign_services.create_campaign(
        actor=marketer,
        name="Growth Notes e-zine 2026-27",
        slug=EZINE_CAMPAIGN_SLUG,
        goal="A weekly e-zine that keeps customers coming back to the hub.",
        start_date=today,
        end_date=today + datetime.timedelta(days=365),
    )
    campaign_services.approve_campaign(campaign, approver)
    return campaign


def _ezine(page, campaign, account, mailing_list) -> int:
    """The e-zine as its setup screen saves it: the model's checks (cadence, zone, feed
    address), then the next run computed as the scheduler computes it."""
    ezine = EZine(
        page=page,
        campaign=campaign,
        channel_account=account,
        mailing_list=mailing_list,
        cadence=EZINE_CADENCE,
        time_zone=TEAM_TIME_ZONE,
        section_tags="promotions, guides",
    )
    ezine.full_clean()
    ezine.save()
    # The hub's own blog feed stands in for a partner's: it is served by `make run`.
    feed = PartnerFeed(
        ezine=ezine,
        name="Campaign Hub blog",
        url="http://127.0.0.1:8000/blog/rss/",
        is_internal=True,
        max_items=3,
    )
    feed.full_clean()
    feed.save()
    ezine.next_run_at = next_run_after(ezine, timezone.now())
    ezine.save(update_fields=["next_run_at"])
    return 1


# --- Sending the demo's email for real --------------------------------------------------


class DemoMailSink:
    """A mail server on a free loopback port for the length of a `with` block
    (aiosmtpd): it accepts every message and keeps it, so the demo's sends go through
    the real fan-out (claims, batches, SMTP, sent marks, send events) and the messages
    it caught are what the demo's readers open and click."""

    def __init__(self):
        self.messages: list[tuple[str, bytes]] = []  # (recipient, message)
        self.controller = None
        self.port = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        for recipient in envelope.rcpt_tos:
            self.messages.append((recipient, envelope.original_content or envelope.content))
        return "250 2.0.0 Accepted (demo sink)"

    def __enter__(self) -> DemoMailSink:
        from aiosmtpd.controller import Controller

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller = Controller(
            self, hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=True
        )
        self.controller.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.controller.stop()


@contextlib.contextmanager
def pointed_at(account: ChannelAccount, sink: DemoMailSink):
    """The account sends to `sink` inside the block, and to wherever it sent before
    afterwards (whatever goes wrong): a send resumed later reaches the account's own
    server."""
    before = dict(account.settings or {})
    ChannelAccount.objects.filter(pk=account.pk).update(
        # No rate limit: the sink is ours, and `make run` waits for the demo.
        settings={
            **before,
            "host": "127.0.0.1",
            "port": sink.port,
            "security": "none",
            "rate_limit_per_second": 0,
        }
    )
    try:
        yield
    finally:
        ChannelAccount.objects.filter(pk=account.pk).update(settings=before)
        account.refresh_from_db()


def run_send(publication, *, stop_after: int | None = None, batch_size: int = 40) -> EmailSend:
    """Send an email publication's frozen audience batch by batch through the real
    fan-out, as the batch tasks do. With `stop_after`, pause the send (the marketer's
    Pause) once at least that many messages went out: it shows as running, part way."""
    send = EmailSend.objects.get(publication=publication)
    sent = 0
    while True:
        result = send_next_batch(send.pk, batch_size=batch_size)
        sent += result.sent
        if stop_after is not None and sent >= stop_after:
            control_email_send(send, "pause")
            break
        if not result.more:
            break
    send.refresh_from_db()
    return send
