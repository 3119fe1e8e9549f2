"""Sending claimed batches (channels.email.fanout) through a real SMTP server on
loopback: every recipient exactly once, whatever happens in between."""

import pytest
from django.db import connection
from django.test import Client

from campaigns.audiences import services as audience_services
from campaigns.audiences.models import Suppression
from channels.email import services
from channels.email.models import Delivery

from .conftest import drain, make_subscribers, publish


@pytest.mark.django_db
def test_same_batch_task_run_twice_sends_once(
    smtp_server, no_celery, mailing_list, email_publication
):
    _controller, handler = smtp_server
    make_subscribers(mailing_list, 25)
    send = publish(email_publication)
    # The same task delivered twice, one after the other, then the rest.
    services.send_next_batch(send.pk)
    services.send_next_batch(send.pk)
    drain(send)
    services.send_next_batch(send.pk)
    counts = handler.count_by_recipient()
    assert len(counts) == 25 and set(counts.values()) == {1}


@pytest.mark.django_db(transaction=True)  # the pause comes from another connection
def test_pause_inside_a_batch_releases_unsent_rows(
    smtp_server, no_celery, mailing_list, email_publication
):
    _controller, handler = smtp_server
    make_subscribers(mailing_list, 10)
    send = publish(email_publication)
    paused = []

    def marketer_pauses(count):
        # While the server holds the first message, before the batch's first pause check.
        if count == 1:
            paused.append(services.pause_email_send(send))
        connection.close()

    handler.on_message = marketer_pauses
    result = services.send_next_batch(send.pk, pause_check_every=3)
    handler.on_message = None
    assert paused == [True]
    assert result.sent == 3 and result.released == 7
    assert Delivery.objects.filter(status="pending").count() == 7
    services.resume_email_send(send)
    drain(send)
    counts = handler.count_by_recipient()
    assert len(counts) == 10 and set(counts.values()) == {1}


@pytest.mark.django_db
def test_unsubscribe_mid_send_honoured_before_next_batch(
    smtp_server, no_celery, mailing_list, email_publication
):
    _controller, handler = smtp_server
    subs = make_subscribers(mailing_list, 20)
    send = publish(email_publication)
    services.send_next_batch(send.pk)  # first 10
    # The 15th subscriber unsubscribes through the link in a (previous) email, and the
    # 18th's address hard-bounces elsewhere.
    token = audience_services.subscriber_token(subs[14].pk, mailing_list.pk)
    Client().post(f"/u/{token}/")
    audience_services.suppress_address(subs[17].email, "hard_bounce")
    drain(send)
    counts = handler.count_by_recipient()
    assert subs[14].email not in counts and subs[17].email not in counts
    assert len(counts) == 18 and set(counts.values()) == {1}
    assert Delivery.objects.get(subscriber=subs[14]).status == Delivery.Status.SKIPPED


@pytest.mark.django_db
def test_refused_recipient_fails_and_is_suppressed(
    smtp_server, no_celery, mailing_list, email_publication
):
    _controller, handler = smtp_server
    subs = make_subscribers(mailing_list, 3)
    handler.refuse[subs[1].email] = "550 5.1.1 No such user"
    drain(publish(email_publication))
    assert Delivery.objects.get(subscriber=subs[1]).status == Delivery.Status.FAILED
    assert Suppression.objects.filter(email=subs[1].email, reason="hard_bounce").exists()
    assert set(handler.count_by_recipient()) == {subs[0].email, subs[2].email}


@pytest.mark.django_db
def test_temporary_refusal_is_tried_again_then_failed_without_suppressing(
    smtp_server, no_celery, mailing_list, email_publication
):
    _controller, handler = smtp_server
    subs = make_subscribers(mailing_list, 2)
    handler.refuse[subs[0].email] = "451 4.3.0 Try again later"
    send = publish(email_publication)
    results = [services.send_next_batch(send.pk) for _ in range(services.MAX_ATTEMPTS)]
    assert [r.released for r in results] == [1] * (services.MAX_ATTEMPTS - 1) + [0]
    assert results[-1].failed == 1
    row = Delivery.objects.get(subscriber=subs[0])
    assert row.status == Delivery.Status.FAILED and row.error.startswith("451")
    assert row.attempts == services.MAX_ATTEMPTS
    assert not Suppression.objects.filter(email=subs[0].email).exists()
    assert handler.count_by_recipient() == {subs[1].email: 1}


@pytest.mark.django_db
def test_message_refused_after_its_content_is_not_marked_sent(
    smtp_server, no_celery, mailing_list, email_publication
):
    _controller, handler = smtp_server
    make_subscribers(mailing_list, 2)
    handler.refuse_data = "554 5.7.1 Message rejected as spam"
    send = publish(email_publication)
    result = services.send_next_batch(send.pk)
    assert result.sent == 0 and result.failed == 2
    assert Delivery.objects.filter(status=Delivery.Status.FAILED).count() == 2
    assert not Delivery.objects.exclude(message_id="").exists()  # the marks were taken back


@pytest.mark.django_db
def test_unreachable_server_releases_the_claim(no_celery, mailing_list, email_publication):
    make_subscribers(mailing_list, 3)
    send = publish(email_publication)
    account = email_publication.channel_account
    account.settings = {**account.settings, "port": 1, "timeout": 2}
    account.save()
    with pytest.raises(services.TransientSendError):
        services.send_next_batch(send.pk)
    assert Delivery.objects.filter(status=Delivery.Status.PENDING).count() == 3
