"""What each recipient actually gets (channels.email.sender, mime, rendering), end to
end through a real SMTP server on loopback."""

import re

import pytest
from django.test import Client

from campaigns.audiences.models import Subscription
from channels.email.models import Delivery, EmailSend

from .conftest import drain, make_subscribers, publish


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
    # The class rules are inlined; only the client fixes no inline style can express
    # (media queries, client-specific selectors) stay in the head.
    assert re.search(r'class="content" style="[^"]*padding:24px', html)
    head_styles = re.findall(r"<style[^>]*>(.*?)</style>", html, re.DOTALL)
    assert head_styles and not any("padding: 24px" in css for css in head_styles)
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
