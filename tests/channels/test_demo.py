"""The demo's channels (channels/demo.py): an account of every kind, the remote ones
inactive and saying what to fill in, an e-zine whose issues can go out, and the mail
sink the demo's sends go to."""

import smtplib
from email.message import EmailMessage

import pytest

from campaigns.demo import load_campaigns_demo
from campaigns.models import Publication
from campaigns.services.validation import channel_problems, validate_channel_account
from channels.demo import REMOTE_ACCOUNTS, DemoMailSink, load_channels_demo, pointed_at
from channels.email.config import SMTPConfig
from channels.ezine.models import EZine
from channels.models import ChannelAccount
from channels.registry import ADAPTERS
from content.demo import load_content
from content.models import EZineIssuePage

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def demo(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    load_content()
    load_campaigns_demo()
    load_channels_demo()


def test_every_channel_kind_has_an_account():
    assert set(ChannelAccount.objects.values_list("kind", flat=True)) == set(ADAPTERS)


def test_remote_accounts_are_inactive_and_say_what_to_fill_in():
    remote = {kind for kind, _name in REMOTE_ACCOUNTS}
    assert remote == {"blog/wordpress", "blog/metaweblog", "forum/discourse", "forum/reddit"}
    for account in ChannelAccount.objects.filter(kind__in=remote):
        assert not account.is_active
        assert "fill in" in account.name
    for account in ChannelAccount.objects.exclude(kind__in=remote):
        assert account.is_active, account.name
        validate_channel_account(account)  # works as it is: raises otherwise


def test_the_ezine_has_a_postal_address_sections_and_a_schedule():
    ezine = EZine.objects.get(page__slug="growth-notes")
    assert SMTPConfig.from_account(ezine.channel_account).postal_address.strip()
    assert ezine.tag_list == ["promotions", "guides"]
    assert ezine.next_run_at is not None
    issue = EZineIssuePage.objects.child_of(ezine.page).live().first()
    publication = Publication(
        campaign=ezine.campaign,
        page=issue,
        channel_account=ezine.channel_account,
        timezone=ezine.time_zone,
    )
    assert channel_problems(publication) == []


def test_the_mail_sink_keeps_what_it_is_sent_and_the_account_goes_back():
    account = ChannelAccount.objects.get(name="Demo newsletter")
    before = dict(account.settings)
    with DemoMailSink() as sink, pointed_at(account, sink):
        config = SMTPConfig.from_account(ChannelAccount.objects.get(pk=account.pk))
        assert (config.host, config.port) == ("127.0.0.1", sink.port)
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "a@example.com", "王芳@例子.中国", "Hi"
        message.set_content("你好")
        with smtplib.SMTP(config.host, config.port) as client:
            client.send_message(message)
        assert [to for to, _raw in sink.messages] == ["王芳@例子.中国"]
    assert ChannelAccount.objects.get(pk=account.pk).settings == before
