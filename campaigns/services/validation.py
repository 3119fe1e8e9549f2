"""Can this publication go out at that time? Every reason it cannot, as messages, so the
editor sees all of them at once."""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from channels.models import ChannelAccount
from channels.registry import UnknownChannelKind, get_adapter_class
from content.approval import is_content_approved

from .. import recurrence
from ..models import Publication
from .state import SCHEDULABLE_CAMPAIGN_STATUSES


def validate_channel_account(account: ChannelAccount) -> None:
    try:
        get_adapter_class(account.kind)
    except UnknownChannelKind:
        raise ValidationError(
            _("Unknown channel kind “%(kind)s” on account “%(account)s”.")
            % {"kind": account.kind, "account": account.name},
            code="unknown_channel",
        ) from None
    except ImportError:
        raise ValidationError(
            _("The channel “%(kind)s” is not available in this installation.")
            % {"kind": account.kind},
            code="unknown_channel",
        ) from None
    if not account.is_active:
        raise ValidationError(
            _("The channel account “%(account)s” is disabled.") % {"account": account.name},
            code="inactive_account",
        )


def validate_campaign_dates(start_date, end_date) -> None:
    if start_date and end_date and end_date < start_date:
        raise ValidationError(
            {"end_date": _("The end date must not be before the start date.")},
            code="end_before_start",
        )


def validate_schedule(publication: Publication, publish_at, now=None) -> list[str]:
    """Every reason `publication` cannot be scheduled at `publish_at`, as messages."""
    now = now or timezone.now()
    return validate_publish_time(publish_at, now) + validate_publication_at(publication, publish_at)


def validate_publish_time(publish_at, now) -> list[str]:
    """A publish time must be given, aware and in the future."""
    if publish_at is None:
        return [_("Enter a publish time.")]
    if timezone.is_naive(publish_at):
        return [_("The publish time must include a time zone.")]
    if publish_at <= now:
        return [
            _("The publish time %(when)s is in the past.")
            % {"when": timezone.localtime(publish_at).strftime("%Y-%m-%d %H:%M %Z")}
        ]
    return []


def validate_publication_at(publication: Publication, publish_at) -> list[str]:
    """Everything but the time itself: the campaign is approved and runs on that day,
    the channel account works, the content is approved, the recurrence rule is valid."""
    errors: list[str] = []
    campaign = publication.campaign
    if campaign.status not in SCHEDULABLE_CAMPAIGN_STATUSES:
        errors.append(
            _("The campaign “%(name)s” is not approved (it is %(status)s).")
            % {"name": campaign.name, "status": campaign.get_status_display().lower()}
        )
    aware = publish_at is not None and not timezone.is_naive(publish_at)
    if aware:
        try:
            zone = recurrence.get_zone(publication.timezone)
        except ValidationError as exc:
            errors.extend(exc.messages)
            zone = datetime.UTC
        local_day = publish_at.astimezone(zone).date()
        if not (campaign.start_date <= local_day <= campaign.end_date):
            errors.append(
                _("The publish date %(day)s is outside the campaign (%(start)s to %(end)s).")
                % {"day": local_day, "start": campaign.start_date, "end": campaign.end_date}
            )
    try:
        validate_channel_account(publication.channel_account)
    except ValidationError as exc:
        errors.extend(exc.messages)
    if not is_content_approved(publication.page):
        errors.append(
            _(
                "The content “%(title)s” is not approved: publish it or approve it in the workflow first."
            )
            % {"title": publication.page.title}
        )
    if publication.recurrence and aware:
        try:
            recurrence.first_occurrence(publication.recurrence, publish_at, publication.timezone)
        except ValidationError as exc:
            errors.extend(exc.messages)
    return errors


def channel_problems(publication: Publication) -> list[str]:
    """What the channel itself would refuse or silently change (an unknown category, a
    title too short for the forum, a required flair): asks the channel, so it runs
    before the scheduling transaction, never inside it (no row lock held over the
    network). A channel that cannot be reached reports nothing: publishing retries."""
    try:
        adapter = publication.channel_account.get_adapter()
    except (UnknownChannelKind, ImportError):
        return []  # validate_channel_account says so in words
    return adapter.check_publication(publication)
