"""One batch's SMTP connection and the message each recipient gets.

The fast client itself (pipelining, dot-stuffing once) is channels.email.smtp; this
module opens it with an account's settings and builds the per-recipient message from
the issue frozen on the EmailSend.
"""

from __future__ import annotations

import logging
import smtplib
import ssl

from django.utils.translation import gettext as _

from analytics.tokens import message_token, open_pixel_url
from campaigns.audiences import services as audience_services
from channels.base import PublishError

from . import smtp
from .config import SMTPConfig
from .mime import MessageFrame, feedback_id_for
from .models import Delivery, EmailSend

logger = logging.getLogger(__name__)


class TransientSendError(Exception):
    """The SMTP server is unreachable or failed mid-batch; try again later."""


def cannot_connect_message() -> str:
    return _(
        "Could not connect to the mail server. Check its host name, port and security "
        "setting; the server log has the details."
    )


def open_smtp(config: SMTPConfig) -> smtplib.SMTP:
    """One connection for a whole batch, through the SSRF guard unless the account is
    internal. Raises TransientSendError when it cannot be made.

    Its message is the same whatever went wrong before the login (an address the guard
    refuses, a refused or timed-out connection, no route, something that is not a mail
    server, a failed TLS handshake): a marketer's Test connection must not tell an
    open port from a closed one. What happened goes to the server log."""
    try:
        if config.security == "ssl":
            conn = smtp.SMTP_SSL(
                config.host,
                config.port,
                timeout=config.timeout,
                context=ssl.create_default_context(),
                allow_internal=config.allow_internal,
            )
        else:
            conn = smtp.SMTP(
                config.host,
                config.port,
                timeout=config.timeout,
                allow_internal=config.allow_internal,
            )
            conn.ehlo()
            if config.security == "starttls":
                conn.starttls(context=ssl.create_default_context())
                conn.ehlo()
        if config.username:
            conn.login(config.username, config.password)
    except smtplib.SMTPAuthenticationError as exc:
        raise PublishError(_("SMTP login refused: %(err)s") % {"err": exc}, permanent=True) from exc
    except (OSError, smtplib.SMTPException, ValueError) as exc:
        logger.warning(
            "cannot connect to the mail server %s:%s (%s): %r",
            config.host,
            config.port,
            config.security,
            exc,
        )
        raise TransientSendError(cannot_connect_message()) from exc
    return conn


def message_values(send: EmailSend, delivery: Delivery) -> dict:
    """Per-recipient merge values (see channels.email.rendering)."""
    subscriber = delivery.subscriber
    key = audience_services.recipient_key(subscriber.pk)
    m = message_token(send.publication_id, key)
    link_token = audience_services.subscriber_token(
        subscriber.pk, send.mailing_list_id, send.publication_id
    )
    name = subscriber.name or _("there")
    return {
        "name": name,
        "first_name": name.split(" ")[0],
        "email": subscriber.email,
        "m": m,
        "unsubscribe_url": audience_services.unsubscribe_url(link_token),
        "preferences_url": audience_services.preferences_url(link_token),
        "open_pixel_url": open_pixel_url(m),
    }


def message_id_for(send: EmailSend, delivery: Delivery, config: SMTPConfig) -> str:
    # Stable per delivery: a resend after an unknown outcome reuses it, so receiving
    # servers and our bounce matching see the same message.
    return f"<{send.publication.idempotency_key.hex}.{delivery.pk}@{config.message_id_domain}>"


def publication_feedback_id(publication) -> str:
    """The Feedback-ID of every message `publication` sends (see mime.feedback_id_for)."""
    return feedback_id_for(
        publication_id=publication.pk,
        campaign_id=publication.campaign_id,
        account_id=publication.channel_account_id,
    )


def build_frame(send: EmailSend, config: SMTPConfig) -> MessageFrame:
    return MessageFrame(
        config,
        subject=send.subject,
        html=send.html,
        text=send.text,
        list_id=f"<{send.mailing_list.slug}.{config.message_id_domain}>",
        feedback_id=publication_feedback_id(send.publication),
    )
