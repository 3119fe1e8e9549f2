"""Content approval follows the page: unapproved edits of scheduled content hold its
publications, approving the content again releases them. Called after commit by the
page and revision receivers (campaigns.receivers). Also answers content's question
"when does a campaign put this page on the hub?" (`hub_slot`), so approving the
content keeps it off the hub until then (content.moderation)."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.models import Page

from content.approval import is_content_approved
from content.moderation import follow_hub_slot

from ..models import Campaign, Notification, Publication
from ..notifications import notify_user
from .state import SCHEDULABLE_CAMPAIGN_STATUSES, S, lock_publication, log_event, transition

# The "this hub" blog channel (channels/blog/wagtail_site.py), the one that makes a
# page of ours live. A string, as stored on ChannelAccount.kind: services do not need
# the adapter itself to ask this.
HUB_KIND = "blog/wagtail_site"

# A hub publication in one of these states will still publish the page at its time.
_PENDING_STATUSES = (S.DRAFT, S.SCHEDULED, S.QUEUED, S.PAUSED)


def hub_slot(page_id: int, now=None):
    """The earliest future time a live campaign publishes the page on this hub, or
    None. Drafts count: a marketer schedules the hub post once the content is
    approved, and approving it must not have put it live already."""
    now = now or timezone.now()
    return (
        Publication.objects.filter(
            page_id=page_id,
            channel_account__kind=HUB_KIND,
            status__in=_PENDING_STATUSES,
            publish_at__gt=now,
        )
        .exclude(campaign__status__in=(Campaign.Status.CANCELLED, Campaign.Status.FINISHED))
        .order_by("publish_at")
        .values_list("publish_at", flat=True)
        .first()
    )


def follow_page_hub_slot(page_id: int) -> None:
    """After a hub publication of the page changed: content approved for the old slot
    goes live at the new one (content.moderation.follow_hub_slot)."""
    page = Page.objects.filter(pk=page_id).first()
    if page is not None:
        follow_hub_slot(page)


def reconcile_page_approval(page_id: int) -> None:
    """Called after a page (revision) changes. Unapproved edits send the page's
    scheduled publications back to draft ("held for re-approval"); once the content is
    approved again, held publications whose time is still ahead are scheduled again."""
    if not settings.CAMPAIGNS_EDIT_REQUIRES_REAPPROVAL:
        return
    page = Page.objects.filter(pk=page_id).first()
    if page is None:
        return
    if is_content_approved(page):
        _release_held_publications(page_id, timezone.now())
    else:
        _hold_scheduled_publications(page)


def _hold_scheduled_publications(page) -> None:
    ids = Publication.objects.filter(page_id=page.pk, status__in=(S.SCHEDULED, S.QUEUED))
    for pk in ids.values_list("pk", flat=True):
        with transaction.atomic():
            locked = lock_publication(pk)
            if locked.status not in (S.SCHEDULED, S.QUEUED):
                continue
            transition(
                locked,
                S.DRAFT,
                None,
                _("The content was edited after scheduling; it goes out once approved again."),
                due_at=None,
                held_for_reapproval=True,
            )
        notify_user(
            locked.campaign.owner,
            _(
                "“%(title)s” was edited after it was scheduled on %(account)s; it will be rescheduled once the changes are approved."
            )
            % {"title": page.title, "account": locked.channel_account.name},
            level=Notification.Level.WARNING,
            publication=locked,
        )


def _release_held_publications(page_id: int, now) -> None:
    held = Publication.objects.filter(page_id=page_id, status=S.DRAFT, held_for_reapproval=True)
    for pk in held.values_list("pk", flat=True):
        with transaction.atomic():
            locked = lock_publication(pk)
            if locked.status != S.DRAFT or not locked.held_for_reapproval:
                continue
            if (
                locked.publish_at
                and locked.publish_at > now
                and locked.campaign.status in SCHEDULABLE_CAMPAIGN_STATUSES
            ):
                transition(
                    locked,
                    S.SCHEDULED,
                    None,
                    _("The content was approved again; scheduled as before."),
                    due_at=locked.publish_at,
                    held_for_reapproval=False,
                )
            else:
                locked.held_for_reapproval = False
                locked.save(update_fields=["held_for_reapproval", "updated_at"])
                log_event(
                    locked,
                    S.DRAFT,
                    S.DRAFT,
                    None,
                    _(
                        "The content was approved again, but the publish time has passed: reschedule it."
                    ),
                )
