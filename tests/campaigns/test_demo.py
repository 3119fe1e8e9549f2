"""The demo behind `make run` (`manage.py load_demo`, `ensure_admin`): every piece of the
marketer's day is there and usable, made through the real services, and a second run
creates nothing new."""

import datetime
import io
import zoneinfo

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone
from wagtail.users.models import UserProfile

from analytics.models import Event
from campaigns.audiences.models import (
    ImportJob,
    MailingList,
    Segment,
    Subscriber,
    Subscription,
    Suppression,
)
from campaigns.audiences.services import audience_count
from campaigns.demo import DEMO_USERS, load_campaigns_demo, read_demo_logins
from campaigns.models import Campaign, Notification, Publication
from campaigns.team import team_time_zone
from channels.demo import load_channels_demo
from channels.email.config import SMTPConfig
from channels.email.models import EmailSend
from channels.ezine.models import EZine
from channels.models import ChannelAccount
from content.demo import load_content

pytestmark = pytest.mark.django_db
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def var_dir(settings, tmp_path):
    """The logins file goes to a temporary var/, never the developer's."""
    settings.VAR_DIR = tmp_path
    return tmp_path


@pytest.fixture
def demo():
    """The content, people, audiences and channels of the demo (the analytics loader,
    slow and tested on its own, left out)."""
    load_content()
    return {**load_campaigns_demo(), **load_channels_demo()}


def _counts() -> dict:
    models = [
        get_user_model(),
        Subscriber,
        Subscription,
        MailingList,
        Segment,
        ImportJob,
        Campaign,
        Publication,
        ChannelAccount,
        EmailSend,
        EZine,
        Notification,
        Event,
    ]
    return {model.__name__: model.objects.count() for model in models}


def test_load_demo_twice_creates_nothing_new():
    first = io.StringIO()
    call_command("load_demo", stdout=first)
    after_first = _counts()
    # 206 from the audiences demo, 3 leads of the landing page demo (campaigns/leads).
    assert after_first["Subscriber"] == 209 and after_first["EZine"] == 1
    assert "campaigns.demo.load_campaigns_demo: created 1 team time zone, 5 users" in (
        first.getvalue()
    )

    second = io.StringIO()
    call_command("load_demo", stdout=second)
    assert _counts() == after_first
    for loader in ("campaigns.demo.load_campaigns_demo", "channels.demo.load_channels_demo"):
        line = next(x for x in second.getvalue().splitlines() if x.startswith(loader))
        assert all(part.split()[0] == "0" for part in line.split("created ")[1].split(", "))


def test_the_team_works_in_shanghai_and_each_role_has_a_user(demo):
    assert team_time_zone() == "Asia/Shanghai"
    User = get_user_model()
    marketer = User.objects.get(username="marketer")
    approver = User.objects.get(username="approver")
    leadership = User.objects.get(username="leadership")
    assert UserProfile.get_for_user(marketer).current_time_zone == "Asia/Shanghai"
    assert UserProfile.get_for_user(approver).preferred_language == "zh-hans"
    assert marketer.has_perm("campaigns.add_campaign")
    assert not marketer.has_perm("campaigns.approve_campaign")
    assert approver.has_perm("campaigns.approve_campaign")
    assert leadership.has_perm("campaigns.view_campaign")
    assert not leadership.has_perm("campaigns.change_campaign")
    assert User.objects.get(username="moderator").groups.filter(name="Moderators").exists()


def test_demo_logins_sign_in_to_the_admin(demo, client, var_dir):
    logins = read_demo_logins()
    assert sorted(logins) == sorted(username for _r, username, *_rest in DEMO_USERS)
    for username, password in logins.items():
        client.logout()
        response = client.post(
            "/admin/login/", {"username": username, "password": password}, follow=True
        )
        assert response.status_code == 200, username
        assert response.wsgi_request.user.username == username
        assert client.get("/admin/").status_code == 200


def test_approver_is_told_and_sees_the_campaign_waiting(demo, client):
    campaign = Campaign.objects.get(slug="demo-double-twelve")
    assert campaign.status == Campaign.Status.AWAITING_APPROVAL
    approver = get_user_model().objects.get(username="approver")
    notice = Notification.objects.get(user=approver, campaign=campaign)
    assert "待审批" in notice.message  # in the approver's language
    client.post(
        "/admin/login/", {"username": "approver", "password": read_demo_logins()["approver"]}
    )
    home = client.get("/admin/").content.decode()
    assert campaign.name in home


def test_the_audience_was_imported_with_international_addresses(demo):
    mailing_list = MailingList.objects.get(slug="demo-customers")
    job = ImportJob.objects.get(mailing_list=mailing_list)
    assert (job.status, job.imported_rows, job.rejected_rows) == ("done", 200, 0)
    # Four left the list (one of them everything), two addresses bounced for good.
    assert audience_count(mailing_list=mailing_list) == 194
    wang = Subscriber.objects.get(email="王芳@example.com")
    assert wang.language == "zh-hans" and "vip" in wang.tag_list
    assert Subscriber.objects.filter(email="李娜@例子.中国").exists()
    assert set(Subscriber.objects.values_list("language", flat=True)) == {"en", "zh-hans"}
    assert Subscriber.objects.values("timezone").distinct().count() >= 5

    segment = Segment.objects.get(mailing_list=mailing_list)
    expected = Subscriber.objects.filter(language="zh-hans", tags__contains=",vip,").count()
    assert 0 < audience_count(segment=segment) == expected < 200


def test_the_campaign_awaiting_approval_has_an_email_to_the_segment_and_a_blog_draft(demo):
    campaign = Campaign.objects.get(slug="demo-double-twelve")
    email = campaign.publications.get(channel_account__kind="email/smtp")
    blog = campaign.publications.get(channel_account__kind="blog/wagtail_site")
    assert email.status == blog.status == Publication.Status.DRAFT
    # Planned for 08:30 in Shanghai, three days ahead: 00:30 UTC.
    assert email.timezone == "Asia/Shanghai"
    assert email.publish_at > timezone.now()
    assert email.publish_at.astimezone(SHANGHAI).time() == datetime.time(8, 30)
    assert email.publish_at.astimezone(datetime.UTC).time() == datetime.time(0, 30)
    send = EmailSend.objects.get(publication=email)
    assert send.segment.name.startswith("Chinese-speaking VIPs")
    assert audience_count(segment=send.segment) > 0


def test_the_smtp_account_points_at_a_local_mail_catcher(demo):
    config = SMTPConfig.from_account(ChannelAccount.objects.get(name="Demo newsletter"))
    assert (config.host, config.port, config.security) == ("127.0.0.1", 1025, "none")
    assert config.from_email == "news@example.com"
    assert config.default_list == "demo-customers"
    assert ChannelAccount.objects.get(name="Demo newsletter").is_internal


def test_the_ezine_runs_weekly_in_shanghai(demo):
    ezine = EZine.objects.get(page__slug="growth-notes")
    assert (ezine.time_zone, ezine.mailing_list.slug) == ("Asia/Shanghai", "demo-customers")
    assert ezine.channel_account.kind == "ezine/email"
    assert ezine.tag_list and ezine.partner_feeds.count() == 1
    assert ezine.campaign.status == Campaign.Status.APPROVED
    local = ezine.next_run_at.astimezone(SHANGHAI)
    assert ezine.next_run_at > timezone.now()
    assert (local.weekday(), local.time()) == (0, datetime.time(9, 0))


def test_ensure_admin_prints_every_demo_login(demo):
    out = io.StringIO()
    call_command("ensure_admin", stdout=out)
    printed = out.getvalue()
    assert "Username: admin" in printed
    for username, password in read_demo_logins().items():
        assert f"{username:<11} {password}" in printed


def test_a_lost_logins_file_gets_new_working_passwords(demo, client, var_dir):
    (var_dir / "demo-logins.txt").unlink()
    load_campaigns_demo()
    password = read_demo_logins()["marketer"]
    # Through the sign-in form: login throttling (django-axes) needs the request.
    signed_in = client.post("/admin/login/", {"username": "marketer", "password": password})
    assert signed_in.status_code == 302, signed_in.status_code


def test_marketer_reaches_the_send_panel_from_the_campaign(demo, client):
    """The email publication's send panel is one click from the campaign, and shows the
    segment the demo chose with its live count."""
    campaign = Campaign.objects.get(slug="demo-double-twelve")
    email = campaign.publications.get(channel_account__kind="email/smtp")
    client.post(
        "/admin/login/", {"username": "marketer", "password": read_demo_logins()["marketer"]}
    )
    campaign_page = client.get(f"/admin/campaigns/{campaign.pk}/").content.decode()
    panel_url = f"/admin/email/{email.pk}/"
    assert f'href="{panel_url}"' in campaign_page
    panel = client.get(panel_url)
    assert panel.status_code == 200
    send = EmailSend.objects.get(publication=email)
    text = panel.content.decode()
    assert send.segment.name in text
    assert str(audience_count(segment=send.segment)) in text


def test_lists_have_readers_in_several_lists_unsubscribes_and_suppressions(demo):
    customers = MailingList.objects.get(slug="demo-customers")
    readers = MailingList.objects.get(slug="demo-readers")
    in_both = Subscriber.objects.filter(subscriptions__mailing_list=customers).filter(
        subscriptions__mailing_list=readers
    )
    assert in_both.count() >= 30
    names = list(readers.subscriptions.values_list("subscriber__name", flat=True))
    assert any(name.isascii() for name in names)
    assert any(not name.isascii() for name in names)
    left = customers.subscriptions.filter(status=Subscription.Status.UNSUBSCRIBED)
    assert left.count() == 4
    reasons = set(Suppression.objects.values_list("reason", flat=True))
    assert reasons == {Suppression.Reason.UNSUBSCRIBE, Suppression.Reason.HARD_BOUNCE}
    # A suppressed customer was refused by the readers' list, as the form refuses them.
    for suppressed in Suppression.objects.values_list("email", flat=True):
        assert not readers.subscriptions.filter(subscriber__email=suppressed).exists()
    assert (
        audience_count(mailing_list=readers)
        == readers.subscriptions.filter(status=Subscription.Status.SUBSCRIBED).count()
    )
