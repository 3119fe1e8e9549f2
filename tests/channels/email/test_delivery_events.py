"""A real send records its deliveries (docs/metrics.md, "Delivered"): one "send" and one
"delivery" event per recipient the SMTP server accepted (250 to our message), none for a
refused one, through analytics.events.record_events; recording never stops the send.
A bounce reported afterwards (a DSN read from the bounce mailbox) is counted once per
recipient against the messages sent."""

import datetime

import pytest
from django.utils import timezone

from analytics import dashboards
from analytics.models import Event
from analytics.rollups import update_rollups
from campaigns.audiences import services as audience_services
from channels.email import bounces, services
from channels.email.fanout import record_sends
from channels.email.models import Delivery

from .conftest import drain, make_subscribers, publish


def events(kind: str) -> list[str]:
    return sorted(Event.objects.filter(kind=kind).values_list("message_key", flat=True))


def keys(publication, subscribers) -> list[str]:
    return sorted(f"{publication.pk}:{audience_services.recipient_key(s.pk)}" for s in subscribers)


def dsn_for(delivery: Delivery) -> bytes:
    """A bounce message (RFC 3464) about one message we sent, as the mailbox reader gets."""
    return f"""From: MAILER-DAEMON@mx.example.net
To: bounces@hub.example.com
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

The mail system could not deliver your message.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; {delivery.email}
Action: failed
Status: 5.2.1
Diagnostic-Code: smtp; 550 5.2.1 Mailbox disabled

--B
Content-Type: text/rfc822-headers

Message-ID: {delivery.message_id}
Subject: November news

--B--
""".encode()


@pytest.mark.django_db
def test_accepted_recipients_get_one_delivery_each_refused_ones_none(
    smtp_server, no_celery, mailing_list, email_publication
):
    _controller, handler = smtp_server
    subs = make_subscribers(mailing_list, 12)
    handler.refuse[subs[3].email] = "550 5.1.1 No such user"
    handler.refuse_data = None
    send = publish(email_publication)
    drain(send)
    accepted = [s for s in subs if s != subs[3]]
    assert set(handler.count_by_recipient()) == {s.email for s in accepted}
    assert events("delivery") == keys(email_publication, accepted)
    assert events("send") == keys(email_publication, accepted)
    # Recording the same rows again (a batch task run twice) stores nothing more.
    record_sends(send, list(Delivery.objects.filter(status="sent").values_list("pk", flat=True)))
    assert Event.objects.filter(kind="delivery").count() == len(accepted)


@pytest.mark.django_db
def test_message_refused_after_its_content_gets_no_delivery(
    smtp_server, no_celery, mailing_list, email_publication
):
    _controller, handler = smtp_server
    make_subscribers(mailing_list, 2)
    handler.refuse_data = "554 5.7.1 Message rejected as spam"
    send = publish(email_publication)
    for _ in range(services.MAX_ATTEMPTS):
        services.send_next_batch(send.pk)
    assert not Event.objects.filter(kind__in=("send", "delivery")).exists()


@pytest.mark.django_db
def test_analytics_failing_never_stops_the_send(
    smtp_server, no_celery, mailing_list, email_publication, monkeypatch
):
    _controller, handler = smtp_server
    make_subscribers(mailing_list, 15)

    def broken(events):
        raise RuntimeError("analytics database is down")

    monkeypatch.setattr("channels.email.fanout.record_events", broken)
    drain(publish(email_publication))
    assert len(handler.count_by_recipient()) == 15
    assert Delivery.objects.filter(status="sent").count() == 15


@pytest.mark.django_db
def test_bounce_after_delivery_counts_once_against_the_sent(
    smtp_server, no_celery, mailing_list, email_publication
):
    subs = make_subscribers(mailing_list, 4)
    drain(publish(email_publication))
    bounced = Delivery.objects.get(subscriber=subs[2])
    assert bounced.message_id
    # The DSN arrives after the server had said 250; the mailbox is read twice.
    assert bounces.process_bounce_message(dsn_for(bounced)) == 1
    bounces.process_bounce_message(dsn_for(bounced))
    assert events("bounce") == keys(email_publication, [subs[2]]) * 2
    update_rollups(now=timezone.now() + datetime.timedelta(days=1))
    totals = dashboards.campaign_totals(
        dashboards.DashboardFilter.for_campaign(email_publication.campaign),
        email_publication.campaign_id,
    )
    assert (totals["sends"], totals["deliveries"], totals["bounces"]) == (4, 4, 1)
    assert totals["bounce_rate"] == 0.25  # bounced recipients / recipients sent to
