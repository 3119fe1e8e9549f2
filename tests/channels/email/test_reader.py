"""What the reader receives: the doctype after inlining, bulletproof buttons, the
Feedback-ID header, test emails whose links work and change nothing, previews with
no placeholders and no open pixel. Messages are taken as a loopback SMTP server
received them."""

import base64
import re

import dkim
import lxml.html
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client
from django.urls import reverse

from analytics.models import Event
from campaigns.audiences import services as audience_services
from campaigns.audiences.models import Subscription, Suppression
from channels.email import services
from channels.email.adapter import EmailAdapter
from tests.factories import PublicationFactory, make_email_issue

from .conftest import drain, make_subscribers, publish

BUTTON = ("button", {"text": "Read the playbook", "url": "https://www.example.com/playbook"})


def _html(msg) -> str:
    return msg.get_body(("html",)).get_content()


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


@pytest.fixture
def button_publication(home_page, email_account):
    page = make_email_issue(
        home_page, body=[("paragraph", "<p>Hello {{ name }}.</p>"), BUTTON, ("divider", None)]
    )
    return PublicationFactory(page=page, channel_account=email_account)


@pytest.mark.django_db
def test_sent_html_part_starts_with_the_doctype(
    smtp_server, no_celery, mailing_list, email_publication
):
    _controller, handler = smtp_server
    make_subscribers(mailing_list, 1)
    drain(publish(email_publication))
    html = _html(handler.parsed()[0][1])
    assert html.startswith('<!DOCTYPE html>\r\n<html lang="en">')


@pytest.mark.django_db
def test_button_block_is_a_bulletproof_table_button(button_publication):
    rendered = EmailAdapter(button_publication.channel_account).render(button_publication)
    doc = lxml.html.fromstring(rendered.html)
    (link,) = doc.xpath("//a[normalize-space()='Read the playbook']")
    cell = link.getparent()
    table = cell.getparent().getparent()
    # Outlook's Word engine paints the cell: its colour and padding are on the td.
    assert cell.tag == "td" and cell.get("bgcolor") == "#2563eb"
    assert "mso-padding-alt:12px24px" in cell.get("style").replace(" ", "")
    assert table.tag == "table" and table.get("role") == "presentation"
    # Every other client pads the link itself, so the whole button is clickable.
    style = link.get("style").replace(" ", "")
    for rule in ("display:inline-block", "padding:12px24px", "color:#fff", "text-decoration:none"):
        assert rule in style, rule
    assert re.fullmatch(r"http://[^/]+/t/[A-Za-z0-9_\-]+", link.get("href"))  # tracked


@pytest.mark.django_db
def test_every_campaign_message_names_campaign_and_account_in_feedback_id(
    smtp_server, no_celery, mailing_list, email_publication
):
    _controller, handler = smtp_server
    make_subscribers(mailing_list, 2)
    drain(publish(email_publication))
    pub = email_publication
    expected = f"p{pub.pk}:c{pub.campaign_id}:a{pub.channel_account_id}:campaignhub"
    values = [msg["Feedback-ID"] for _rcpts, msg in handler.parsed()]
    assert values == [expected, expected]  # the same for every recipient: no PII


@pytest.mark.django_db
def test_dkim_signature_covers_feedback_id(
    smtp_server, no_celery, mailing_list, email_publication, email_account
):
    """Gmail trusts a Feedback-ID only under the sender's DKIM signature."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    email_account.settings = {
        **email_account.settings,
        "dkim_selector": "s1",
        "dkim_domain": "hub.example.com",
    }
    email_account.secrets = {"dkim_private_key": pem}
    email_account.save()
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)

    def dns(name, timeout=5):
        return record if name == b"s1._domainkey.hub.example.com." else None

    _controller, handler = smtp_server
    make_subscribers(mailing_list, 1)
    drain(publish(email_publication))
    raw = handler.messages[0][1]
    assert b"Feedback-ID: " in raw
    assert dkim.verify(raw, dnsfunc=dns)
    forged = re.sub(rb"Feedback-ID: [^\r]+", b"Feedback-ID: p1:c1:a1:someoneelse", raw)
    assert not dkim.verify(forged, dnsfunc=dns)


@pytest.mark.django_db
def test_test_email_is_marked_and_its_links_work_without_changing_anything(
    smtp_server, mailing_list, email_publication
):
    _controller, handler = smtp_server
    (subscriber,) = make_subscribers(mailing_list, 1, prefix="me")
    rendered = EmailAdapter(email_publication.channel_account).render(email_publication)
    assert services.send_test_email(email_publication, rendered, [subscriber.email]) == 1
    msg = handler.parsed()[0][1]
    html = _html(msg)
    text = msg.get_body(("plain",)).get_content()

    assert msg["Subject"] == "[Test] November news"
    assert "This is a test email." in html and text.startswith("This is a test email.")
    assert "<img" not in html and "/t/o/" not in html  # no open pixel, no <img src="">
    assert "[[" not in html and "{{" not in html and 'href="#' not in html
    links = dict(re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', html))
    links = {label: url for url, label in links.items()}
    unsubscribe, preferences = links["Unsubscribe"], links["Email preferences"]
    assert unsubscribe != "http://127.0.0.1:8000/" and "/u/" in unsubscribe
    assert f"<{unsubscribe}>" in msg["List-Unsubscribe"]

    client = Client(enforce_csrf_checks=True)
    page = client.get(_path(unsubscribe))
    assert page.status_code == 200
    assert b"opened from a test email" in page.content
    assert subscriber.email.encode() in page.content
    # The one-click POST a mail provider sends, and the page's own button.
    assert client.post(_path(unsubscribe), {"List-Unsubscribe": "One-Click"}).status_code == 200
    page = client.get(_path(preferences))
    assert page.status_code == 200 and b"opened from a test email" in page.content

    client = Client()
    saved = client.post(_path(preferences), {"name": "Changed", "language": "zh-hans"})
    assert saved.status_code == 200 and b"opened from a test email" in saved.content
    subscriber.refresh_from_db()
    assert (subscriber.name, subscriber.language) == ("Reader 0", "en")
    assert Subscription.objects.get(subscriber=subscriber).status == "subscribed"
    assert not Suppression.objects.exists() and not Event.objects.exists()


@pytest.mark.django_db
def test_preview_link_opens_no_subscriber_page(email_publication):
    """A preview token is signed with its own salt: it cannot unsubscribe anyone, even
    through the code path for subscribers' links."""
    preview = services.preview_html(
        email_publication, EmailAdapter(email_publication.channel_account).render(email_publication)
    )
    token = re.search(r'href="[^"]*/u/([^/"]+)/"', preview).group(1)
    with pytest.raises(audience_services.AudienceError):
        audience_services.unsubscribe_by_token(token)


@pytest.mark.django_db
def test_previews_hold_no_placeholders_and_request_no_pixel(button_publication):
    adapter = EmailAdapter(button_publication.channel_account)
    rendered = adapter.render(button_publication)
    assert "[[open_pixel_url]]" in rendered.html  # what the send merges per recipient
    for html in (
        services.preview_html(button_publication, rendered),
        adapter.render_preview(button_publication).html,
    ):
        assert "[[" not in html and "{{" not in html
        assert "<img" not in html and "/t/o/" not in html
        assert "Hello Alex Example." in html
        assert re.search(r'href="http://[^"]+/preferences/[^"]+/"', html)
    assert "[[" not in adapter.render_preview(button_publication).text


@pytest.mark.django_db
def test_publication_form_preview_iframe_has_no_placeholders(admin_client, button_publication):
    url = reverse("campaigns_admin:publication_edit", args=[button_publication.pk])
    page = admin_client.get(url).content.decode()
    srcdoc = re.search(r'<iframe[^>]*srcdoc="([^"]*)"', page).group(1)
    assert "Hello Alex Example." in srcdoc
    assert "[[" not in srcdoc and "/t/o/" not in srcdoc and "&lt;img" not in srcdoc


@pytest.mark.django_db
def test_web_version_greets_the_reader_instead_of_showing_merge_fields(client, home_page):
    page = make_email_issue(home_page, body=[("paragraph", "<p>Hello {{ name }}. {{email}}</p>")])
    zh = make_email_issue(
        home_page,
        slug="zh",
        language="zh-hans",
        body=[("paragraph", "<p>{{ first_name }}，你好：</p>")],
    )

    def body(url):
        html = client.get(url).content.decode()
        return re.search(r'<div class="body">(.*?)</div>\s*</article>', html, re.DOTALL).group(1)

    english = body(page.url)
    assert "Hello there." in english and "{{" not in english
    chinese = body(zh.url)
    assert "朋友，你好：" in chinese and "{{" not in chinese
