"""Owner notifications: an admin notice (shown once as a message on the next admin page,
listed until read) and an email after commit.

Below the services that raise them: this module imports only the models, so channel
code (e.g. publish verification) can notify without importing campaigns.services.
"""

from __future__ import annotations

import logging

from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Notification, Publication

logger = logging.getLogger(__name__)


def notify_user(
    user,
    message: str,
    *,
    level=Notification.Level.INFO,
    campaign=None,
    publication=None,
    email=True,
) -> Notification:
    """An admin notice for `user` (shown on their next admin visit) and, if they have an
    address, an email sent after commit."""
    if campaign is None and publication is not None:
        campaign = publication.campaign
    note = Notification.objects.create(
        user=user, level=level, message=message, campaign=campaign, publication=publication
    )
    if email and user.email:
        subject = _("[Campaign Hub] %(campaign)s") % {
            "campaign": campaign.name if campaign else _("Notice")
        }

        def _send():
            try:
                send_mail(subject, message, None, [user.email])
            except Exception:  # noqa: BLE001 - the admin notice is still there
                logger.exception("could not email notification %s", note.pk)

        transaction.on_commit(_send)
    return note


def notify_publication_problem(publication: Publication, message: str) -> Notification:
    return notify_user(
        publication.campaign.owner,
        message,
        level=Notification.Level.ERROR,
        publication=publication,
    )


def pop_unshown_notifications(user, limit: int = 5) -> list[Notification]:
    """Notifications not yet shown to `user`, marked shown (each is shown once)."""
    notes = list(
        Notification.objects.filter(user=user, shown_at__isnull=True).order_by("created_at")[:limit]
    )
    if notes:
        Notification.objects.filter(pk__in=[n.pk for n in notes]).update(shown_at=timezone.now())
    return notes


def mark_notifications_read(user) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )
