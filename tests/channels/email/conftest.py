"""A real SMTP server on loopback (aiosmtpd) and an email publication to send."""

import asyncio
import email
import email.policy
import socket
import threading

import pytest
from aiosmtpd.controller import Controller

from campaigns.audiences.models import Subscription
from channels.email import services as email_services
from channels.email import tasks as email_tasks
from channels.email.adapter import EmailAdapter
from channels.email.models import EmailSend
from tests.campaigns.audiences.factories import MailingListFactory, subscribe_many
from tests.factories import ChannelAccountFactory, PublicationFactory, make_email_issue


class RecordingHandler:
    """Keeps every accepted message. `stall_after` makes the server hang (without
    answering) on the message after that many, until the client goes away: after its
    end-of-data (`stall_on = "data"`, the server has the whole message) or at its
    RCPT TO (`stall_on = "rcpt"`, before the client has sent any of it).

    Announces PIPELINING (RFC 2920) like Postfix and most real servers, unless
    `pipelining` is set to False (aiosmtpd reads pipelined commands in order), and
    SMTPUTF8 unless `smtputf8` is set to False.

    `on_message(count)`, when set, runs after each accepted message (with how many the
    server has now) and before the server answers it, in a thread of its own: what it
    does happens while the client waits, like a marketer acting from another process."""

    def __init__(self):
        self.messages: list[tuple[list[str], bytes]] = []
        self.lock = threading.Lock()
        self.stall_after: int | None = None
        self.stalled = threading.Event()
        self.stall_on = "data"
        self.refuse: dict[str, str] = {}
        self.refuse_data: str | None = None
        self.refuse_sender: str | None = None
        self.pipelining = True
        self.smtputf8 = True
        self.on_message = None

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.pipelining:
            responses.insert(-1, "250-PIPELINING")
        if not self.smtputf8:
            responses.remove("250-SMTPUTF8")
        return responses

    async def _stall_if(self, stage):
        if (
            self.stall_on == stage
            and self.stall_after is not None
            and len(self.messages) >= self.stall_after
        ):
            self.stalled.set()
            await asyncio.sleep(3600)  # cancelled when the client disconnects

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.refuse_sender:
            return self.refuse_sender
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        await self._stall_if("rcpt")
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        await self._stall_if("data")
        if self.refuse_data:
            return self.refuse_data
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), envelope.original_content))
            count = len(self.messages)
        if self.on_message is not None:
            # Off the event loop: Django refuses database work inside a running loop.
            await asyncio.to_thread(self.on_message, count)
        return "250 Message accepted"

    def parsed(self):
        return [
            (rcpts, email.message_from_bytes(raw, policy=email.policy.default))
            for rcpts, raw in self.messages
        ]

    def count_by_recipient(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for rcpts, _raw in self.messages:
            for r in rcpts:
                counts[r] = counts.get(r, 0) + 1
        return counts


@pytest.fixture
def smtp_server():
    handler = RecordingHandler()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port, decode_data=False)
    controller.start()
    try:
        yield controller, handler
    finally:
        controller.stop()


@pytest.fixture
def no_celery(monkeypatch):
    """Sends are driven by the tests, not by Celery tasks."""
    email_services.email_send_started.disconnect(dispatch_uid="email_start_workers")
    yield
    email_services.email_send_started.connect(
        email_tasks.start_workers, dispatch_uid="email_start_workers"
    )


@pytest.fixture
def mailing_list(db):
    return MailingListFactory(slug="news", name="News")


@pytest.fixture
def email_account(smtp_server, mailing_list):
    controller, _handler = smtp_server
    return ChannelAccountFactory(
        kind="email/smtp",
        name="Newsletter SMTP",
        is_internal=True,  # the test server is on loopback, which the SSRF guard refuses
        settings={
            "host": "127.0.0.1",
            "port": controller.port,
            "security": "none",
            "from_name": "Hub News",
            "from_email": "news@hub.example.com",
            "reply_to": "editor@hub.example.com",
            "postal_address": "1 Example Street, Springfield",
            "default_list": mailing_list.slug,
            "batch_size": 10,
            "message_id_domain": "hub.example.com",
        },
    )


@pytest.fixture
def email_publication(home_page, email_account):
    page = make_email_issue(
        home_page,
        body=[
            (
                "paragraph",
                '<p>Hello {{ name }}. <a href="https://example.com/news">Read the news</a> '
                'and <a href="https://shop.example.com/sale">the sale</a>.</p>',
            )
        ],
    )
    return PublicationFactory(page=page, channel_account=email_account)


def make_subscribers(mailing_list, count, prefix="reader"):
    return subscribe_many(mailing_list, count, prefix=prefix)


def subscribed_count(mailing_list):
    return Subscription.objects.filter(
        mailing_list=mailing_list, status=Subscription.Status.SUBSCRIBED
    ).count()


def publish(publication):
    """Render and publish like the dispatcher does: the audience is frozen, no Celery."""
    adapter = EmailAdapter(publication.channel_account)
    rendered = adapter.render(publication)
    adapter.publish(publication, rendered)
    return EmailSend.objects.get(publication=publication)


def drain(send, limit=100):
    """Run batches until nothing is claimed, as the chained batch tasks would."""
    for _ in range(limit):
        result = email_services.send_next_batch(send.pk)
        if not result.claimed:
            return
    raise AssertionError("send did not finish")
