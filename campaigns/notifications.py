"""Telling a person: an admin notice (shown once as a message on the next admin page,
listed until read, on the home page) and an email after commit, each in the reader's
own language and pointing at the screen where they act.

Below the services that raise them: this module imports only the models, so channel
code (e.g. publish verification, the email fan-out) can notify without importing
campaigns.services.

Languages: a message is passed as a callable that builds the text (`lambda: _("...") %
{...}`) and is called once per recipient under `translation.override` of that person's
admin language (Wagtail's UserProfile.preferred_language, else settings.LANGUAGE_CODE).
The notice stores the text in the reader's language, so the admin shows it as written.
A plain string is accepted too, for callers that have no translated text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from wagtail.users.models import UserProfile

from .models import Campaign, Notification, Publication

logger = logging.getLogger(__name__)

Text = str | Callable[[], str]

APPROVE_PERMISSION = "campaigns.approve_campaign"


def language_of(user) -> str:
    """The admin language `user` chose in their Wagtail account, else the site's. Read
    from the database, not the user object's cached profile: notifications are built for
    users loaded elsewhere (a campaign's owner), whose cache may predate their choice."""
    language = (
        UserProfile.objects.filter(user_id=user.pk)
        .values_list("preferred_language", flat=True)
        .first()
    )
    return language or settings.LANGUAGE_CODE


def display_name(user) -> str:
    return user.get_full_name() or user.get_username()


def _render(text: Text) -> str:
    return str(text() if callable(text) else text)


def notify_user(
    user,
    message: Text,
    *,
    level=Notification.Level.INFO,
    campaign=None,
    publication=None,
    email=True,
) -> Notification:
    """An admin notice for `user` (shown on their next admin visit) and, if they have an
    address, an email sent after commit; both in `user`'s language."""
    if campaign is None and publication is not None:
        campaign = publication.campaign
    language = language_of(user)
    with translation.override(language):
        text = _render(message)
        subject = _("[Campaign Hub] %(campaign)s") % {
            "campaign": campaign.name if campaign else _("Notice")
        }
    note = Notification.objects.create(
        user=user, level=level, message=text, campaign=campaign, publication=publication
    )
    if email and user.email:
        with translation.override(language):
            body = text + "\n\n" + _("Open: %(url)s") % {"url": absolute_url(action_url(note))}
        mail = EmailMessage(
            subject, body, None, [user.email], headers={"Content-Language": language}
        )

        def _send():
            try:
                mail.send()
            except Exception:  # noqa: BLE001 - the admin notice is still there
                logger.exception("could not email notification %s", note.pk)

        transaction.on_commit(_send)
    return note


def notify_publication_problem(publication: Publication, message: Text) -> Notification:
    return notify_user(
        publication.campaign.owner,
        message,
        level=Notification.Level.ERROR,
        publication=publication,
    )


# --- Campaign approval -------------------------------------------------------------------


def approvers(exclude=None) -> list:
    """Active users who may approve campaigns (superusers included: they can), each with
    their profile for the language, minus `exclude` (the person who submitted)."""
    users = (
        get_user_model()
        .objects.with_perm(
            APPROVE_PERMISSION,
            is_active=True,
            include_superusers=True,
            # The only backend that grants permissions (the others only sign people in).
            backend="django.contrib.auth.backends.ModelBackend",
        )
        .select_related("wagtail_userprofile")
        .order_by("pk")
    )
    if exclude is not None:
        users = users.exclude(pk=exclude.pk)
    return list(users)


def notify_campaign_submitted(campaign: Campaign, actor=None) -> list[Notification]:
    """Ask everyone who may approve `campaign` to look at it. The submitter is left out:
    they know, and nobody should sign off their own work because a notice asked them to."""
    submitter = actor or campaign.owner
    who = display_name(submitter) if submitter else "-"

    def message():
        return _(
            "%(status)s: campaign “%(name)s”, submitted by %(user)s. "
            "Open it to approve it or send it back."
        ) % {"status": campaign.get_status_display(), "name": campaign.name, "user": who}

    return [notify_user(user, message, campaign=campaign) for user in approvers(exclude=actor)]


def notify_campaign_approved(campaign: Campaign, actor) -> Notification | None:
    if campaign.owner is None or campaign.owner == actor:
        return None
    return notify_user(
        campaign.owner,
        lambda: (
            _("Campaign “%(name)s” was approved by %(user)s; its publications go out as scheduled.")
            % {"name": campaign.name, "user": display_name(actor)}
        ),
        campaign=campaign,
    )


def notify_campaign_rejected(campaign: Campaign, actor, reason: str = "") -> Notification | None:
    if campaign.owner is None or campaign.owner == actor:
        return None
    return notify_user(
        campaign.owner,
        lambda: (
            _("Campaign “%(name)s” was sent back: %(reason)s")
            % {"name": campaign.name, "reason": reason or "-"}
        ),
        level=Notification.Level.WARNING,
        campaign=campaign,
    )


# --- Email sends -------------------------------------------------------------------------


def notify_send_finished(
    publication: Publication, subject: str, sent: int, failed: int, skipped: int
) -> Notification | None:
    """Tell the campaign's owner an email send is over, with its figures."""
    owner = publication.campaign.owner
    if owner is None:
        return None
    return notify_user(
        owner,
        lambda: (
            _(
                "The email “%(subject)s” has been sent: %(sent)d sent, %(failed)d failed, "
                "%(skipped)d skipped (unsubscribed or suppressed)."
            )
            % {"subject": subject, "sent": sent, "failed": failed, "skipped": skipped}
        ),
        level=Notification.Level.WARNING if failed else Notification.Level.INFO,
        publication=publication,
    )


# --- Reading -----------------------------------------------------------------------------


def action_url(note: Notification) -> str:
    """The admin screen where the reader acts on `note`: the send panel once an email
    send exists (progress, pause, resume), else the publication, else the campaign."""
    if note.publication_id:
        # Reverse one-to-one: select_related("publication__email_send") avoids a query.
        if getattr(note.publication, "email_send", None) is not None:
            return reverse("email_overview", args=[note.publication_id])
        return reverse("campaigns_admin:publication_edit", args=[note.publication_id])
    if note.campaign_id:
        return reverse("campaigns_admin:detail", args=[note.campaign_id])
    return reverse("campaigns_admin:notifications")


def absolute_url(path: str) -> str:
    return settings.WAGTAILADMIN_BASE_URL.rstrip("/") + path


def notifications_for(user, *, unread_only: bool = False, limit: int = 100) -> list[Notification]:
    """The user's notices, newest first, each with `.url` (see `action_url`)."""
    qs = Notification.objects.filter(user=user).select_related(
        "campaign", "publication", "publication__email_send"
    )
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return with_urls(qs[:limit])


def with_urls(notes: Iterable[Notification]) -> list[Notification]:
    notes = list(notes)
    for note in notes:
        note.url = action_url(note)
    return notes


def pop_unshown_notifications(user, limit: int = 5) -> list[Notification]:
    """Notifications not yet shown to `user`, marked shown (each is shown once)."""
    notes = list(
        Notification.objects.filter(user=user, shown_at__isnull=True)
        .select_related("publication__email_send")
        .order_by("created_at")[:limit]
    )
    if notes:
        Notification.objects.filter(pk__in=[n.pk for n in notes]).update(shown_at=timezone.now())
    return with_urls(notes)


def mark_notifications_read(user) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )
