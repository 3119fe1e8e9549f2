"""Freezing a large audience in id ranges by several PostgreSQL sessions at once
(channels.email.audience): every recipient once, a crash part-way resumed, and an
audience changed after such a crash starts from nothing."""

import pytest
from django.db import connection

from campaigns.audiences.models import Suppression
from channels.email import audience, services
from channels.email.models import Delivery, EmailSend
from tests.campaigns.audiences.factories import MailingListFactory

from .conftest import drain, make_subscribers, publish


@pytest.fixture
def split_freeze(settings, monkeypatch):
    """Split even a tiny audience across three sessions."""
    if connection.vendor != "postgresql":
        pytest.skip("ranges are frozen in parallel on PostgreSQL only")
    settings.EMAIL_FREEZE_SESSIONS = 3
    monkeypatch.setattr(audience, "FREEZE_SPLIT_MIN_IDS", 0)


@pytest.mark.django_db(transaction=True)
def test_ranges_frozen_in_parallel_send_to_everyone_once(
    split_freeze, smtp_server, no_celery, mailing_list, email_publication
):
    _controller, handler = smtp_server
    subs = make_subscribers(mailing_list, 25)
    Suppression.objects.create(email=subs[7].email, reason="hard_bounce")
    send = publish(email_publication)
    assert send.recipient_count == 24 and send.status == EmailSend.Status.SENDING
    drain(send)
    expected = {s.email: 1 for s in subs if s.pk != subs[7].pk}
    assert handler.count_by_recipient() == expected


@pytest.mark.django_db(transaction=True)
def test_a_freeze_that_crashed_part_way_is_completed_without_duplicates(
    split_freeze, smtp_server, no_celery, mailing_list, email_publication
):
    _controller, handler = smtp_server
    subs = make_subscribers(mailing_list, 12)
    # A crash after some ranges committed: their rows exist, the send is not frozen.
    services.set_email_audience(email_publication, mailing_list)
    Delivery.objects.bulk_create(
        Delivery(publication=email_publication, subscriber=s, email=s.email) for s in subs[:5]
    )
    send = publish(email_publication)
    assert send.recipient_count == 12
    assert Delivery.objects.filter(publication=email_publication).count() == 12
    drain(send)
    assert handler.count_by_recipient() == {s.email: 1 for s in subs}


@pytest.mark.django_db(transaction=True)
def test_choosing_another_list_after_a_crashed_freeze_drops_its_rows(
    split_freeze, smtp_server, no_celery, mailing_list, email_publication
):
    _controller, handler = smtp_server
    subs = make_subscribers(mailing_list, 4)
    services.set_email_audience(email_publication, mailing_list)
    Delivery.objects.bulk_create(
        Delivery(publication=email_publication, subscriber=s, email=s.email) for s in subs
    )
    vip = MailingListFactory(slug="vip", name="VIP")
    vips = make_subscribers(vip, 3, prefix="vip")
    services.set_email_audience(email_publication, vip)
    send = publish(email_publication)
    assert send.recipient_count == 3
    drain(send)
    assert handler.count_by_recipient() == {v.email: 1 for v in vips}
