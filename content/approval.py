"""Is a page's content approved for publishing? Wagtail's own notion (live, or approved
in the workflow and waiting for its go-live time), used by the schedule and by the
"this hub" blog channel. Depends on nothing but Wagtail's revisions and one setting.

Also the one question content asks the campaigns above it, as a signal (content imports
no other app of ours): when does a campaign publish this page on the hub?"""

from django.conf import settings
from django.dispatch import Signal
from django.utils import timezone

# Sent with `page`; each receiver answers with the earliest future time a campaign
# publishes that page on this hub (its "this hub" slot), or None. Heard by
# campaigns.receivers.
hub_slot_requested = Signal()


def approved_revision(page):
    """The page's latest approved revision: one approved in the workflow and waiting for
    its go-live time, else the live revision. None when nothing is approved."""
    scheduled = (
        page.revisions.filter(approved_go_live_at__isnull=False).order_by("-created_at").first()
    )
    if scheduled is not None:
        return scheduled
    if page.live and page.live_revision_id:
        return page.live_revision
    return None


def is_content_approved(page) -> bool:
    """Live or approved in Wagtail's workflow. With CAMPAIGNS_EDIT_REQUIRES_REAPPROVAL
    (default on), newer unapproved edits make the content unapproved again."""
    revision = approved_revision(page)
    if revision is None:
        return False
    if settings.CAMPAIGNS_EDIT_REQUIRES_REAPPROVAL:
        latest_id = page.revisions.order_by("-created_at", "-pk").values_list("pk", flat=True)
        return latest_id.first() == revision.pk
    return True


def hub_slot_for(page):
    """The earliest future time a campaign publishes `page` on this hub, or None."""
    now = timezone.now()
    answers = [
        when
        for _receiver, when in hub_slot_requested.send(sender=page.__class__, page=page)
        if when is not None and when > now
    ]
    return min(answers, default=None)
