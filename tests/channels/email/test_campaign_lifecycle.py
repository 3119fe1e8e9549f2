"""One lifecycle for a send: pausing, resuming or cancelling the campaign pauses,
resumes or cancels its running sends before their next batch; a mail server that keeps
refusing pauses the send and tells the owner instead of burning through the list."""

import pytest

from campaigns import services as campaign_services
from campaigns.models import Campaign, Notification
from channels.email import services
from channels.email.models import Delivery, EmailSend

from .conftest import drain, make_subscribers, publish

pytestmark = pytest.mark.django_db


@pytest.fixture
def running_send(smtp_server, no_celery, mailing_list, email_publication):
    Campaign.objects.filter(pk=email_publication.campaign_id).update(status=Campaign.Status.RUNNING)
    email_publication.campaign.refresh_from_db()
    make_subscribers(mailing_list, 30)
    send = publish(email_publication)
    services.send_next_batch(send.pk)  # the first 10 of 30 go out
    return send, smtp_server[1]


def test_pausing_the_campaign_mid_send_holds_every_message_until_it_resumes(
    running_send, django_capture_on_commit_callbacks
):
    send, handler = running_send
    campaign = send.publication.campaign
    with django_capture_on_commit_callbacks(execute=True):
        campaign_services.pause_campaign(campaign)
    send.refresh_from_db()
    assert send.status == EmailSend.Status.PAUSED
    assert send.pause_reason == EmailSend.PauseReason.CAMPAIGN
    for _ in range(3):
        assert services.send_next_batch(send.pk).claimed == 0
    assert len(handler.messages) == 10

    with django_capture_on_commit_callbacks(execute=True):
        campaign_services.resume_campaign(campaign)
    send.refresh_from_db()
    assert send.status == EmailSend.Status.SENDING and send.pause_reason == ""
    drain(send)
    counts = handler.count_by_recipient()
    assert len(counts) == 30 and set(counts.values()) == {1}


def test_resuming_the_campaign_leaves_a_send_a_person_paused(
    running_send, django_capture_on_commit_callbacks
):
    send, handler = running_send
    assert services.pause_email_send(send)  # a marketer pauses this one send
    campaign = send.publication.campaign
    with django_capture_on_commit_callbacks(execute=True):
        campaign_services.pause_campaign(campaign)
    with django_capture_on_commit_callbacks(execute=True):
        campaign_services.resume_campaign(campaign)
    send.refresh_from_db()
    assert send.status == EmailSend.Status.PAUSED
    assert send.pause_reason == EmailSend.PauseReason.PERSON
    assert services.send_next_batch(send.pk).claimed == 0 and len(handler.messages) == 10


def test_cancelling_the_campaign_cancels_its_send(running_send, django_capture_on_commit_callbacks):
    send, handler = running_send
    with django_capture_on_commit_callbacks(execute=True):
        campaign_services.cancel_campaign(send.publication.campaign)
    send.refresh_from_db()
    assert send.status == EmailSend.Status.CANCELLED
    assert Delivery.objects.filter(publication=send.publication, status="skipped").count() == 20
    assert services.send_next_batch(send.pk).claimed == 0 and len(handler.messages) == 10


def test_five_refusals_in_a_row_pause_the_send_and_tell_the_owner(
    smtp_server, no_celery, mailing_list, email_publication
):
    _controller, handler = smtp_server
    make_subscribers(mailing_list, 30)
    handler.refuse_data = "451 4.3.0 Try again later"
    send = publish(email_publication)
    result = services.send_next_batch(send.pk)
    send.refresh_from_db()
    assert send.status == EmailSend.Status.PAUSED
    assert send.pause_reason == EmailSend.PauseReason.REFUSALS
    # It stopped at the fifth refusal: the rest of the batch was never offered.
    assert result.sent == 0 and result.released == 10
    assert Delivery.objects.filter(publication=send.publication, status="pending").count() == 30
    owner_notice = Notification.objects.get(user=email_publication.campaign.owner)
    assert "451" in owner_notice.message and owner_notice.level == Notification.Level.ERROR

    # Fixed and resumed by a person: every recipient exactly once.
    handler.refuse_data = None
    assert services.resume_email_send(send)
    drain(send)
    counts = handler.count_by_recipient()
    assert len(counts) == 30 and set(counts.values()) == {1}


def test_a_421_pauses_at_once(smtp_server, no_celery, mailing_list, email_publication):
    _controller, handler = smtp_server
    make_subscribers(mailing_list, 12)
    handler.refuse_data = "421 4.7.0 Too much mail, closing connection"
    send = publish(email_publication)
    result = services.send_next_batch(send.pk)
    send.refresh_from_db()
    assert send.status == EmailSend.Status.PAUSED
    assert send.pause_reason == EmailSend.PauseReason.REFUSALS
    assert result.sent == 0 and result.released == 10


def test_a_few_refused_addresses_do_not_pause_the_send(
    smtp_server, no_celery, mailing_list, email_publication
):
    _controller, handler = smtp_server
    readers = make_subscribers(mailing_list, 20)
    # Four unknown addresses in a row, then good ones: the count starts again.
    for subscriber in readers[:4]:
        handler.refuse[subscriber.email] = "550 5.1.1 No such user"
    send = publish(email_publication)
    drain(send)
    send.refresh_from_db()
    assert send.status == EmailSend.Status.FINISHED
    assert len(handler.messages) == 16


def test_the_campaign_page_shows_a_send_paused_with_its_campaign(
    running_send, django_capture_on_commit_callbacks, admin_client
):
    send, _handler = running_send
    campaign = send.publication.campaign
    with django_capture_on_commit_callbacks(execute=True):
        campaign_services.pause_campaign(campaign)
    page = admin_client.get(f"/admin/campaigns/{campaign.pk}/").content.decode()
    assert "Sending: Paused (Paused with its campaign)" in " ".join(page.split())
    assert f'href="/admin/email/{send.publication_id}/"' in page


def test_a_relay_refusing_everyone_fails_and_suppresses_no_one(
    smtp_server, no_celery, mailing_list, email_publication
):
    """A 5xx for every recipient is the server refusing the send (say, relaying denied
    after an authentication change), not five bad addresses: nobody is failed or
    suppressed, and after the fix every recipient gets the issue."""
    from campaigns.audiences.models import Suppression

    _controller, handler = smtp_server
    readers = make_subscribers(mailing_list, 12)
    for subscriber in readers:
        handler.refuse[subscriber.email] = "550 5.7.1 Relaying denied"
    send = publish(email_publication)
    services.send_next_batch(send.pk)
    send.refresh_from_db()
    assert send.pause_reason == EmailSend.PauseReason.REFUSALS
    rows = Delivery.objects.filter(publication=send.publication)
    assert rows.filter(status="failed").count() == 0 and rows.filter(status="pending").count() == 12
    assert not Suppression.objects.exists()

    handler.refuse.clear()
    assert services.resume_email_send(send)
    drain(send)
    assert len(handler.count_by_recipient()) == 12


def test_a_refused_sender_pauses_the_send(smtp_server, no_celery, mailing_list, email_publication):
    _controller, handler = smtp_server
    make_subscribers(mailing_list, 8)
    handler.refuse_sender = "553 5.7.1 Sender address rejected"
    send = publish(email_publication)
    result = services.send_next_batch(send.pk)
    send.refresh_from_db()
    assert send.status == EmailSend.Status.PAUSED
    assert send.pause_reason == EmailSend.PauseReason.REFUSALS
    assert result.sent == 0 and not handler.messages
    assert Delivery.objects.filter(publication=send.publication, status="pending").count() == 8


def test_a_send_frozen_while_its_campaign_was_paused_waits_for_it(
    smtp_server, no_celery, mailing_list, email_publication, django_capture_on_commit_callbacks
):
    _controller, handler = smtp_server
    make_subscribers(mailing_list, 15)
    Campaign.objects.filter(pk=email_publication.campaign_id).update(status=Campaign.Status.PAUSED)
    send = publish(email_publication)  # the freeze finished after the campaign's pause
    assert services.send_next_batch(send.pk).claimed == 0
    send.refresh_from_db()
    assert send.status == EmailSend.Status.PAUSED
    assert send.pause_reason == EmailSend.PauseReason.CAMPAIGN and not handler.messages

    campaign = Campaign.objects.get(pk=email_publication.campaign_id)
    with django_capture_on_commit_callbacks(execute=True):
        campaign_services.resume_campaign(campaign)
    drain(send)
    assert len(handler.count_by_recipient()) == 15


def test_rows_a_running_batch_put_back_after_a_cancel_are_skipped(running_send):
    send, handler = running_send
    assert services.cancel_email_send(send) == 20
    # A batch that was running at the cancel puts its unsent claimed rows back.
    rows = Delivery.objects.filter(publication=send.publication, status="skipped")
    Delivery.objects.filter(pk__in=list(rows.values_list("pk", flat=True)[:5])).update(
        status="pending", error=""
    )
    # Its chain's next batch finds the send cancelled and settles them.
    assert services.send_next_batch(send.pk).claimed == 0
    assert not Delivery.objects.filter(publication=send.publication, status="pending").exists()
    assert len(handler.messages) == 10
