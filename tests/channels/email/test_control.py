"""Pause, resume, cancel, progress and the pump (channels.email.control)."""

import datetime

import pytest

from channels.email import services
from channels.email.models import Delivery, EmailSend

from .conftest import drain, make_subscribers, publish


@pytest.mark.django_db
def test_pause_mid_send_then_resume_sends_rest_once(
    smtp_server, no_celery, mailing_list, email_publication
):
    _controller, handler = smtp_server
    make_subscribers(mailing_list, 30)
    send = publish(email_publication)
    services.send_next_batch(send.pk)  # 10 sent
    assert services.pause_email_send(send)
    assert services.send_next_batch(send.pk).claimed == 0  # paused: nothing claimed
    assert len(handler.messages) == 10
    assert services.resume_email_send(send)
    drain(send)
    counts = handler.count_by_recipient()
    assert len(counts) == 30 and set(counts.values()) == {1}


@pytest.mark.django_db
def test_cancel_stops_for_good(smtp_server, no_celery, mailing_list, email_publication):
    _controller, handler = smtp_server
    make_subscribers(mailing_list, 20)
    send = publish(email_publication)
    services.send_next_batch(send.pk)
    assert services.cancel_email_send(send) == 10
    assert services.send_next_batch(send.pk).claimed == 0
    assert services.resume_email_send(send) is False
    assert len(handler.messages) == 10


@pytest.mark.django_db
def test_send_counts_follow_the_rows(smtp_server, no_celery, mailing_list, email_publication):
    make_subscribers(mailing_list, 15)
    send = publish(email_publication)
    assert services.send_counts(send)["pending"] == 15
    services.send_next_batch(send.pk)
    counts = services.send_counts(send)
    assert counts["sent"] == 10 and counts["pending"] == 5 and counts["failed"] == 0


@pytest.mark.django_db
def test_pump_restarts_a_stalled_send_and_finishes_a_done_one(
    smtp_server, no_celery, mailing_list, email_publication
):
    make_subscribers(mailing_list, 12)
    send = publish(email_publication)
    # Nothing sent yet and nobody working on it: its task chain died.
    assert services.active_send_ids_needing_workers() == [send.pk]
    services.send_next_batch(send.pk)
    # Progress a moment ago: left alone.
    assert services.active_send_ids_needing_workers() == []
    assert services.active_send_ids_needing_workers(idle_for=datetime.timedelta(0)) == [send.pk]
    services.send_next_batch(send.pk, batch_size=2)
    # Every row sent but the send not yet marked finished: the pump finishes it.
    EmailSend.objects.filter(pk=send.pk).update(status=EmailSend.Status.SENDING)
    assert services.active_send_ids_needing_workers() == []
    send.refresh_from_db()
    assert send.status == EmailSend.Status.FINISHED


@pytest.mark.django_db
def test_pump_takes_back_rows_of_a_dead_worker(
    smtp_server, no_celery, mailing_list, email_publication
):
    make_subscribers(mailing_list, 4)
    send = publish(email_publication)
    long_ago = datetime.datetime.now(datetime.UTC) - services.CLAIM_LEASE * 2
    services.claim_deliveries(send, 4)  # claimed by a worker that then died
    Delivery.objects.update(claimed_at=long_ago)
    assert services.active_send_ids_needing_workers() == [send.pk]
    assert Delivery.objects.filter(status=Delivery.Status.PENDING).count() == 4
