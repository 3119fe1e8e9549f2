"""Manual placement tasks: create (when the publication falls due), notify, complete,
skip, and list the overdue ones for a campaign."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.services import record_public_url
from channels.models import ManualPlacementTask

from .placement import (  # noqa: F401 - re-exported: one import for the views and tests
    DEFAULT_OVERDUE_HOURS,
    assignee_for,
    create_placement_task,
    notify_assignee,
    task_for_publication,
)


def validate_public_url(task: ManualPlacementTask, url: str) -> str:
    """The public URL a marketer reports: http(s), a real host, and on the account's
    expected domain when one is set. Raises ValidationError with a clear message."""
    url = (url or "").strip()
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise ValidationError(_("Enter the full public address, starting with https://")) from None
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    expected = (task.publication.channel_account.settings.get("expected_domain") or "").lower()
    expected = expected.strip().lstrip(".")
    if expected and not (host == expected or host.endswith("." + expected)):
        raise ValidationError(_("This address is not on %(domain)s.") % {"domain": expected})
    return url


def complete_task(task: ManualPlacementTask, url: str, user) -> ManualPlacementTask:
    """Mark the task done with its validated public URL and record that URL on the
    publication (with an audit-log entry naming `user`). Raises ValidationError."""
    url = validate_public_url(task, url)
    with transaction.atomic():
        task = ManualPlacementTask.objects.select_for_update().get(pk=task.pk)
        if task.status == task.Status.SKIPPED:
            raise ValidationError(_("This task was skipped; it cannot be marked done."))
        task.status = task.Status.DONE
        task.public_url = url
        task.completed_by = user
        task.completed_at = timezone.now()
        task.save()
        # Only the public URL, never the status (the placement was already recorded
        # as published when the task was created).
        record_public_url(task.publication, url, user)
    return task


def skip_task(task: ManualPlacementTask, reason: str, user) -> ManualPlacementTask:
    """Skip the task with a reason (required). Raises ValidationError."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Say why the placement is skipped."))
    with transaction.atomic():
        task = ManualPlacementTask.objects.select_for_update().get(pk=task.pk)
        if task.status == task.Status.DONE:
            raise ValidationError(_("This task is already done; it cannot be skipped."))
        task.status = task.Status.SKIPPED
        task.skip_reason = reason
        task.completed_by = user
        task.completed_at = timezone.now()
        task.save()
    return task


def open_tasks_for_user(user):
    return ManualPlacementTask.objects.filter(
        assignee=user, status=ManualPlacementTask.Status.OPEN
    ).select_related("publication__campaign", "publication__channel_account")


def overdue_tasks(campaign=None):
    """Open tasks past their overdue time, optionally for one campaign (the campaign
    page flags these)."""
    qs = ManualPlacementTask.objects.filter(
        status=ManualPlacementTask.Status.OPEN, overdue_at__lte=timezone.now()
    ).select_related("publication__campaign", "publication__channel_account", "assignee")
    if campaign is not None:
        qs = qs.filter(publication__campaign=campaign)
    return qs


def tasks_for_campaign(campaign):
    return ManualPlacementTask.objects.filter(publication__campaign=campaign).select_related(
        "publication__channel_account", "assignee"
    )
