"""E-zine fixtures: an approved campaign's e-zine with a list of three, sending to the
loopback SMTP server (with the Celery switch, from the email tests); and what the
dispatcher does, as a function."""

import pytest

from campaigns.audiences.models import MailingList
from campaigns.models import Campaign
from campaigns.services import claim_due_publications, publish_publication
from channels.ezine.models import EZine
from content.models import EZinePage
from tests.campaigns.audiences.factories import subscribe_many
from tests.channels.email.conftest import no_celery, smtp_server  # noqa: F401
from tests.factories import CampaignFactory, ChannelAccountFactory, add_child


@pytest.fixture
def ezine_setup(home_page, smtp_server):  # noqa: F811 - the fixture imported above
    controller, handler = smtp_server
    news = MailingList.objects.create(name="Weekly", slug="weekly")
    subscribe_many(news, 3)
    page = add_child(home_page, EZinePage(title="Weekly", slug="weekly"))
    account = ChannelAccountFactory(
        kind="ezine/email",
        is_internal=True,  # the test server is on loopback, which the SSRF guard refuses
        settings={
            "host": "127.0.0.1",
            "port": controller.port,
            "security": "none",
            "from_email": "weekly@hub.example.com",
            "postal_address": "1 Example Street",
        },
    )
    ezine = EZine.objects.create(
        page=page,
        campaign=CampaignFactory(status=Campaign.Status.APPROVED),
        channel_account=account,
        mailing_list=news,
    )
    return ezine, handler


def publish_due(now=None) -> list[str]:
    """What the dispatcher and the publish tasks do: claim the due publications and
    publish each one. Returns the outcomes."""
    ids = claim_due_publications(now=now, enqueue=lambda ids: None)
    return [publish_publication(pk) for pk in ids]
