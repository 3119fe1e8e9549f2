"""The email channel adapter ("email/smtp").

render() renders the issue once (premailer included); publish() freezes the audience
and starts the fan-out, then returns: the batches are sent by channels.email.tasks.
Like every adapter it never retries, sleeps or imports Celery.
"""

from __future__ import annotations

import logging
import smtplib
import ssl

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from channels.base import ChannelAdapter, PublishError, PublishResult, Rendered

from . import services
from .config import SMTP_SECRETS, SMTP_SETTINGS, SMTPConfig
from .models import EmailSend
from .rendering import render_issue
from .sender import cannot_connect_message

logger = logging.getLogger(__name__)


class EmailAdapter(ChannelAdapter):
    kind = "email/smtp"
    label = gettext_lazy("Email (SMTP)")
    account_settings = SMTP_SETTINGS
    account_secrets = SMTP_SECRETS

    @property
    def config(self) -> SMTPConfig:
        return SMTPConfig.from_account(self.account)

    def render(self, publication) -> Rendered:
        config = self.config
        if not config.postal_address.strip():
            raise PublishError(
                _("The sending account has no postal address; the law requires one."),
                permanent=True,
            )
        return render_issue(
            publication.page, publication, postal_address=config.postal_address, channel="email"
        )

    def render_preview(self, publication) -> Rendered:
        """The issue with sample merge values and no open pixel: the raw render still
        carries the per-recipient markers ([[open_pixel_url]] and the like)."""
        return services.preview_rendered(publication, self.render(publication))

    def publish(self, publication, rendered: Rendered) -> PublishResult:
        send = services.start_email_send(publication, rendered, self.config)
        return self._result(send)

    def find_existing(self, publication) -> PublishResult | None:
        send = EmailSend.objects.filter(publication=publication, frozen_at__isnull=False).first()
        return self._result(send) if send else None

    def _result(self, send: EmailSend) -> PublishResult:
        try:
            url = send.publication.page.specific.get_full_url() or ""
        except Exception:  # noqa: BLE001 - no site: no web version
            url = ""
        return PublishResult(
            external_id=f"email-send:{send.pk}",
            url=url,
            extra={"recipients": send.recipient_count},
        )

    def validate_account(self, account) -> None:
        config = SMTPConfig.from_account(account)
        problems = []
        if "@" not in config.from_email:
            problems.append(_("Set a from address."))
        if not config.postal_address.strip():
            problems.append(_("Set the sender's postal address (shown in every footer)."))
        if config.security not in ("starttls", "ssl", "none"):
            problems.append(_("Security must be starttls, ssl or none."))
        if problems:
            raise PublishError(" ".join(problems), permanent=True)
        try:
            conn = services.open_smtp(config)
            conn.noop()
            conn.quit()
        except services.TransientSendError as exc:  # already in words that hide port state
            raise PublishError(str(exc), permanent=False) from exc
        except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
            logger.warning(
                "mail server %s:%s failed after connecting: %r", config.host, config.port, exc
            )
            raise PublishError(cannot_connect_message(), permanent=False) from exc
