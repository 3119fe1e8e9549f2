"""End to end through a real SMTP server on loopback: what recipients actually get."""

import re

import pytest
from django.test import Client

from campaigns.audiences.models import Subscription, Suppression
from channels.email import services
from channels.email.adapter import EmailAdapter
from channels.email.models import Delivery, EmailSend

from .conftest import make_subscribers


def publish(publication):
    adapter = EmailAdapter(publication.channel_account)
    rendered = adapter.render(publication)
    adapter.publish(publication, rendered)
    return EmailSend.objects.get(publication=publication)


def drain(send, limit=100):
    for _ in range(limit):
        result = services.send_next_batch(send.pk)
        if not result.claimed:
            return
    raise AssertionError("send did not finish")


@pytest.mark.django_db
def test_messages_as_received(smtp_server, no_celery, mailing_list, email_publication):
    _controller, handler = smtp_server
    make_subscribers(mailing_list, 3)
    send = publish(email_publication)
    drain(send)

    messages = handler.parsed()
    assert len(messages) == 3
    rcpts, msg = messages[0]
    assert rcpts == ["reader0@example.net"]
    assert msg["From"] == "Hub News <news@hub.example.com>"
    assert msg["To"] == "Reader 0 <reader0@example.net>"
    assert msg["Reply-To"] == "editor@hub.example.com"
    assert msg["Subject"] == "November news"
    assert re.fullmatch(r"<[0-9a-f]{32}\.\d+@hub\.example\.com>", msg["Message-ID"])
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsub = msg["List-Unsubscribe"]
    assert "<mailto:unsubscribe@hub.example.com?subject=unsubscribe%20" in unsub
    https_link = re.search(r"<(http[^>]+/u/[^>]+)>", unsub).group(1)

    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    # Merge fields, per recipient.
    assert "Hello Reader 0." in text and "Hello Reader 0." in html
    assert "{{" not in html and "[[" not in html
    # Every content link is a tracked link carrying this message's token.
    tracked = re.findall(r'href="(http://[^"]+/t/[A-Za-z0-9_\-]+\?m=[^"]+)"', html)
    assert len(tracked) >= 2
    assert "https://example.com/news" not in html
    assert re.search(r"/t/[A-Za-z0-9_\-]+\?m=\S+", text)
    # Open pixel, CSS inlined once (premailer), postal address in the footer.
    assert re.search(r'<img src="http://[^"]+/t/o/[^"]+"', html)
    assert 'style="' in html and "<style" not in html
    assert "1 Example Street, Springfield" in html and "1 Example Street" in text
    assert https_link in html

    # Each recipient has their own token.
    other_html = messages[1][1].get_body(("html",)).get_content()
    assert "Hello Reader 1." in other_html
    assert tracked[0].split("?m=")[1] not in other_html

    assert Delivery.objects.filter(status=Delivery.Status.SENT).count() == 3
    send.refresh_from_db()
    assert send.status == EmailSend.Status.FINISHED


@pytest.mark.django_db
def test_unsubscribe_one_click_post_from_header(
    smtp_server, no_celery, mailing_list, email_publication
):
    _controller, handler = smtp_server
    subscribers = make_subscribers(mailing_list, 1)
    drain(publish(email_publication))
    msg = handler.parsed()[0][1]
    url = re.search(r"<(http[^>]+/u/[^>]+)>", msg["List-Unsubscribe"]).group(1)
    path = url.split("://", 1)[1].split("/", 1)[1]

    client = Client(enforce_csrf_checks=True)  # a mail provider: no cookie, no token
    # A link scanner's GET changes nothing.
    assert client.get(f"/{path}").status_code == 200
    assert client.head(f"/{path}").status_code in (200, 405)
    sub = Subscription.objects.get(subscriber=subscribers[0])
    assert sub.status == Subscription.Status.SUBSCRIBED

    response = client.post(f"/{path}", {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    sub.refresh_from_db()
    assert sub.status == Subscription.Status.UNSUBSCRIBED
    # Idempotent.
    assert client.post(f"/{path}", {"List-Unsubscribe": "One-Click"}).status_code == 200


@pytest.mark.django_db
def test_suppressed_and_unsubscribed_are_never_frozen_in(
    smtp_server, no_celery, mailing_list, email_publication
):
    _controller, handler = smtp_server
    subs = make_subscribers(mailing_list, 4)
    Suppression.objects.create(email=subs[0].email, reason="hard_bounce")
    Suppression.objects.create(email=subs[1].email.upper(), reason="complaint")
    Subscription.objects.filter(subscriber=subs[2]).update(status="unsubscribed")
    drain(publish(email_publication))
    assert handler.count_by_recipient() == {subs[3].email: 1}


@pytest.mark.django_db
def test_publish_twice_freezes_once(smtp_server, no_celery, mailing_list, email_publication):
    make_subscribers(mailing_list, 5)
    send = publish(email_publication)
    make_subscribers(mailing_list, 2, prefix="late")
    again = publish(email_publication)
    assert again.pk == send.pk
    assert Delivery.objects.filter(publication=email_publication).count() == 5
    adapter = EmailAdapter(email_publication.channel_account)
    existing = adapter.find_existing(email_publication)
    assert existing.external_id == f"email-send:{send.pk}"


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
def test_pause_inside_a_batch_releases_unsent_rows(
    smtp_server, no_celery, mailing_list, email_publication, monkeypatch
):
    _controller, handler = smtp_server
    make_subscribers(mailing_list, 10)
    send = publish(email_publication)
    monkeypatch.setattr(services, "PAUSE_CHECK_EVERY", 3)
    original = services._still_sending

    def paused_meanwhile(send_id):
        # A marketer pauses while the batch runs (here: just before its first check).
        if not calls:
            calls.append(services.pause_email_send(send))
        return original(send_id)

    calls = []

    monkeypatch.setattr(services, "_still_sending", paused_meanwhile)
    result = services.send_next_batch(send.pk)
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
    from campaigns.audiences import services as audience_services

    token = audience_services.subscriber_token(subs[14].pk, mailing_list.pk)
    Client().post(f"/u/{token}/")
    audience_services.suppress_address(subs[17].email, "hard_bounce")
    drain(send)
    counts = handler.count_by_recipient()
    assert subs[14].email not in counts and subs[17].email not in counts
    assert len(counts) == 18 and set(counts.values()) == {1}
    assert Delivery.objects.get(subscriber=subs[14]).status == Delivery.Status.SKIPPED


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
def test_no_postal_address_is_a_permanent_error(email_publication):
    from channels.base import PublishError

    account = email_publication.channel_account
    account.settings = {**account.settings, "postal_address": ""}
    account.save()
    with pytest.raises(PublishError) as exc:
        EmailAdapter(account).render(email_publication)
    assert exc.value.permanent


@pytest.mark.django_db
def test_test_send_and_preview(smtp_server, email_publication):
    _controller, handler = smtp_server
    adapter = EmailAdapter(email_publication.channel_account)
    rendered = adapter.render(email_publication)
    assert services.send_test_email(email_publication, rendered, ["me@example.org"]) == 1
    rcpts, msg = handler.parsed()[0]
    assert rcpts == ["me@example.org"]
    assert msg["Subject"].startswith("[Test]")
    assert Delivery.objects.count() == 0
    preview = services.preview_html(email_publication, rendered)
    assert "Hello Alex Example." in preview and "{{" not in preview
