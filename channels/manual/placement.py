"""Placing a manual task: created when its publication falls due (by the adapter), and
its assignee told. Kept apart from services.py, which completes and skips tasks through
the campaign services, so the adapter depends on nothing above it."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from channels.models import ManualPlacementTask

DEFAULT_OVERDUE_HOURS = 24


def task_for_publication(publication) -> ManualPlacementTask | None:
    return ManualPlacementTask.objects.filter(publication=publication).first()


def assignee_for(publication):
    """Who places it: whoever scheduled the publication, else the campaign owner."""
    return publication.created_by or publication.campaign.owner


def create_placement_task(publication, rendered) -> ManualPlacementTask:
    """Create the task for `publication` and notify its assignee. Idempotent: a second
    call (a retried publish) returns the existing task and sends nothing."""
    account = publication.channel_account
    hours = int(account.settings.get("overdue_after_hours") or DEFAULT_OVERDUE_HOURS)
    due_at = publication.publish_at or timezone.now()
    with transaction.atomic():
        task, created = ManualPlacementTask.objects.get_or_create(
            publication=publication,
            defaults={
                "assignee": assignee_for(publication),
                "title": rendered.title[:300],
                "body_html": rendered.html,
                "body_markdown": rendered.markdown,
                "body_text": rendered.text,
                "links": list(rendered.extra.get("links") or []),
                "instructions": account.settings.get("instructions", ""),
                "due_at": due_at,
                "overdue_at": due_at + datetime.timedelta(hours=hours),
            },
        )
    if created:
        transaction.on_commit(lambda: notify_assignee(task.pk))
    return task


def notify_assignee(task_id: int) -> bool:
    """E-mail the assignee the copy and links. Returns whether a mail was sent."""
    task = ManualPlacementTask.objects.select_related(
        "assignee", "publication__channel_account", "publication__campaign"
    ).get(pk=task_id)
    if task.notified_at or not task.assignee or not task.assignee.email:
        return False
    language = getattr(
        getattr(task.assignee, "wagtail_userprofile", None), "preferred_language", ""
    )
    with override(language or settings.LANGUAGE_CODE):
        context = {
            "task": task,
            "site": task.publication.channel_account.settings.get("site_name")
            or task.publication.channel_account.name,
            "task_url": settings.WAGTAILADMIN_BASE_URL.rstrip("/")
            + f"/admin/channels/tasks/{task.pk}/",
        }
        subject = _("To post by hand on %(site)s: %(title)s") % {
            "site": context["site"],
            "title": task.title,
        }
        body = render_to_string("channels/manual/task_email.txt", context)
    send_mail(subject.replace("\n", " ")[:200], body, None, [task.assignee.email])
    ManualPlacementTask.objects.filter(pk=task.pk).update(notified_at=timezone.now())
    return True
