"""The issue before it goes out: a browser preview and test sends to chosen addresses,
both with sample merge values (no delivery rows, no tracking tokens)."""

from __future__ import annotations

import secrets
import smtplib

from django.utils.translation import gettext as _

from campaigns.audiences import services as audience_services
from channels.base import Rendered

from .config import SMTPConfig
from .mime import MessageFrame
from .rendering import CompiledMerge
from .sender import open_smtp

SAMPLE_VALUES = {
    "name": "Alex Example",
    "first_name": "Alex",
    "email": "alex@example.com",
    "m": "",
    "unsubscribe_url": "#unsubscribe",
    "preferences_url": "#preferences",
    "open_pixel_url": "",
}


def preview_html(publication, rendered: Rendered) -> str:
    """The issue as a recipient would see it, with sample merge values."""
    return CompiledMerge(rendered.html, escape=True).merge(dict(SAMPLE_VALUES))


def send_test_email(publication, rendered: Rendered, addresses: list[str]) -> int:
    """Send the rendered issue to chosen addresses (no delivery rows, no tracking
    tokens, links marked as a test). Returns how many were accepted."""
    config = SMTPConfig.from_account(publication.channel_account)
    frame = MessageFrame(
        config,
        subject=_("[Test] %(subject)s") % {"subject": rendered.subject},
        html=rendered.html,
        text=rendered.text,
        list_id=f"<test.{config.message_id_domain}>",
    )
    conn = open_smtp(config)
    accepted = 0
    try:
        for address in addresses:
            values = dict(
                SAMPLE_VALUES, email=address, unsubscribe_url=audience_services.absolute_url("/")
            )
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
