"""Internationalised addresses through the real fan-out (publish, claim, send) against
aiosmtpd on loopback: SMTPUTF8 where the server offers it; where it does not, only the
non-ASCII mailbox fails, with its reason, and the rest of the batch goes out."""

import pytest
from django.utils import timezone

from campaigns.audiences.models import Subscriber, Subscription, Suppression
from channels.email.models import Delivery, EmailSend

from .conftest import drain, publish

pytestmark = pytest.mark.django_db

WANG = "王芳@example.com"
IDN = "reader@例子.测试"
IDN_ASCII = "reader@xn--fsqu00a.xn--0zwm56d"


def subscribe(mailing_list, emails):
    now = timezone.now()
    for email in emails:
        subscriber = Subscriber.objects.create(email=email, name="王芳" if "王" in email else "")
        Subscription.objects.create(
            subscriber=subscriber,
            mailing_list=mailing_list,
            status=Subscription.Status.SUBSCRIBED,
            consent_at=now,
            consent_method=Subscription.Method.IMPORT,
            consent_basis="test fixture",
            confirmed_at=now,
        )


def record_mail_options(handler):
    """The MAIL FROM parameters the server was given, per envelope."""
    seen = []
    original = handler.handle_MAIL

    async def handle_MAIL(server, session, envelope, address, mail_options):  # noqa: N802
        seen.append((address, list(mail_options)))
        return await original(server, session, envelope, address, mail_options)

    handler.handle_MAIL = handle_MAIL
    return seen


def statuses(send):
    return dict(
        Delivery.objects.filter(publication=send.publication).values_list("email", "status")
    )


def test_non_ascii_mailbox_and_idn_domain_go_out_with_smtputf8(
    smtp_server, no_celery, mailing_list, email_publication
):
    _controller, handler = smtp_server
    options = record_mail_options(handler)
    subscribe(mailing_list, ["first@example.net", WANG, IDN, "last@example.net"])

    send = publish(email_publication)
    drain(send)

    assert set(statuses(send).values()) == {Delivery.Status.SENT}
    received = {rcpts[0]: message for rcpts, message in handler.parsed()}
    assert set(received) == {"first@example.net", WANG, IDN_ASCII, "last@example.net"}
    assert WANG in str(received[WANG]["To"]) and "王芳" in str(received[WANG]["To"])
    assert IDN_ASCII in str(received[IDN_ASCII]["To"])
    # SMTPUTF8 only where the address needs it: the punycoded domain does not.
    # (Every envelope was accepted, so envelopes and messages pair up in order.)
    recipients = [rcpts[0] for rcpts, _raw in handler.messages]
    with_smtputf8 = [
        r for r, (_f, opts) in zip(recipients, options, strict=True) if "SMTPUTF8" in opts
    ]
    assert with_smtputf8 == [WANG]
    send.refresh_from_db()
    assert send.status == EmailSend.Status.FINISHED


def test_without_smtputf8_only_the_non_ascii_mailboxes_fail_and_the_batch_goes_on(
    smtp_server, no_celery, mailing_list, email_publication
):
    _controller, handler = smtp_server
    handler.smtputf8 = False
    # More non-ASCII mailboxes in a row than the refusals that pause a send: they are
    # this client's refusals, not the server's, so the send must not pause.
    chinese = [WANG] + [f"读者{i}@example.com" for i in range(6)]
    subscribe(mailing_list, ["first@example.net", *chinese, IDN, "last@example.net"])

    send = publish(email_publication)
    drain(send)

    rows = statuses(send)
    assert {rows[e] for e in chinese} == {Delivery.Status.FAILED}
    assert rows["first@example.net"] == rows["last@example.net"] == rows[IDN] == "sent"
    error = Delivery.objects.get(publication=send.publication, email=WANG).error
    assert error.startswith("501") and "SMTPUTF8" in error and "non-ASCII" in error
    assert [rcpts for rcpts, _raw in handler.messages] == [
        ["first@example.net"],
        [IDN_ASCII],
        ["last@example.net"],
    ]
    # Not a bounce: the address may well exist; another account's server may take it.
    assert not Suppression.objects.filter(email__in=chinese).exists()
    send.refresh_from_db()
    assert send.status == EmailSend.Status.FINISHED


def test_a_non_ascii_sender_goes_out_with_smtputf8(
    smtp_server, no_celery, mailing_list, email_publication
):
    _controller, handler = smtp_server
    options = record_mail_options(handler)
    account = email_publication.channel_account
    account.settings = {**account.settings, "from_email": "新闻@例子.中国", "from_name": "新闻"}
    account.save()
    subscribe(mailing_list, ["first@example.net", WANG])

    send = publish(email_publication)
    drain(send)

    assert set(statuses(send).values()) == {Delivery.Status.SENT}
    assert {address for address, _opts in options} == {"新闻@例子.中国"}
    assert all("SMTPUTF8" in opts for _address, opts in options)
    for _rcpts, message in handler.parsed():
        assert "新闻@例子.中国" in str(message["From"])
