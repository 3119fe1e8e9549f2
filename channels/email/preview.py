"""The issue before it goes out: a browser preview and test sends to chosen addresses,
both with sample merge values (no delivery rows, no tracking tokens).

Neither carries the open pixel (rendering.without_open_pixel): a preview must not
request one, and a test must not count as an open. Their unsubscribe and preference
links are preview links (audiences.services.preview_link_token): they open the real
pages, in the issue's language, in a test mode where nothing changes, so whoever checks
a test sees the pages a subscriber would. A test email says it is one: "[Test]" before
its subject and a banner above the issue, in the sender's language (the banner is for
them, not for subscribers).
"""

from __future__ import annotations

import dataclasses
import re
import secrets
import smtplib

from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from campaigns.audiences import services as audience_services
from channels.base import Rendered

from .config import SMTPConfig
from .mime import MessageFrame
from .models import EmailSend
from .rendering import CompiledMerge, page_parts, without_open_pixel
from .sender import open_smtp, publication_feedback_id

SAMPLE_VALUES = {
    "name": "Alex Example",
    "first_name": "Alex",
    "email": "alex@example.com",
    "m": "",
}

_BODY_OPEN_RE = re.compile(r"<body\b[^>]*>", re.IGNORECASE)
_PREHEADER_RE = re.compile(r'<div class="preheader"[^>]*>.*?</div>', re.DOTALL)


def sample_values(publication, email: str) -> dict:
    """Merge values for a preview or a test to `email`: the sample name, and preview
    links for the list the publication goes to, in the issue's language."""
    list_id = (
        EmailSend.objects.filter(publication=publication)
        .values_list("mailing_list_id", flat=True)
        .first()
    )
    token = audience_services.preview_link_token(
        email,
        list_id=list_id,
        publication_id=publication.pk,
        language=page_parts(publication.page)["language"],
    )
    return dict(
        SAMPLE_VALUES,
        email=email,
        unsubscribe_url=audience_services.unsubscribe_url(token),
        preferences_url=audience_services.preferences_url(token),
    )


def preview_html(publication, rendered: Rendered) -> str:
    """The issue as a recipient would see it, with sample merge values."""
    values = sample_values(publication, SAMPLE_VALUES["email"])
    return CompiledMerge(without_open_pixel(rendered.html), escape=True).merge(values)


def preview_rendered(publication, rendered: Rendered) -> Rendered:
    """`rendered` with its merge fields filled in (HTML and text) for showing to a
    person: what the publication form's preview shows."""
    values = sample_values(publication, SAMPLE_VALUES["email"])
    return dataclasses.replace(
        rendered,
        html=CompiledMerge(without_open_pixel(rendered.html), escape=True).merge(values),
        text=CompiledMerge(rendered.text, escape=False).merge(values),
    )


def with_test_banner(html: str, text: str) -> tuple[str, str]:
    """The issue's HTML and text with the "this is a test" banner on top."""
    notice = _(
        "This is a test email. Its unsubscribe and preference links open the real pages "
        "in test mode: nothing you do there changes any subscription."
    )
    banner = render_to_string("email_channel/_test_banner.html", {"notice": notice})
    # After the hidden preheader, so the inbox still previews the issue's own.
    top = _PREHEADER_RE.search(html) or _BODY_OPEN_RE.search(html)
    at = top.end() if top else 0
    return html[:at] + banner + html[at:], f"{notice}\n\n{text}"


def send_test_email(publication, rendered: Rendered, addresses: list[str]) -> int:
    """Send the rendered issue to chosen addresses (no delivery rows, no tracking
    tokens, no open pixel, marked as a test). Returns how many were accepted."""
    config = SMTPConfig.from_account(publication.channel_account)
    html, text = with_test_banner(without_open_pixel(rendered.html), rendered.text)
    frame = MessageFrame(
        config,
        subject=_("[Test] %(subject)s") % {"subject": rendered.subject},
        html=html,
        text=text,
        list_id=f"<test.{config.message_id_domain}>",
        feedback_id=publication_feedback_id(publication),
    )
    conn = open_smtp(config)
    accepted = 0
    try:
        for address in addresses:
            values = sample_values(publication, address)
            mid = f"<test.{secrets.token_hex(8)}@{config.message_id_domain}>"
            msg = frame.build(to_email=address, to_name="", message_id=mid, values=values)
            try:
                conn.sendmail(config.bounce_address or config.from_email, [address], msg)
                accepted += 1
            except smtplib.SMTPRecipientsRefused:
                continue
    finally:
        try:
            conn.quit()
        except (OSError, smtplib.SMTPException):
            pass
    return accepted
