"""Campaign actions: create, edit, submit, approve, reject, pause, resume, cancel, and
the automatic approved -> running -> finished progress. Pausing, resuming or cancelling
a campaign applies the publication action to each of its open publications."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import signals
from ..models import Campaign, Publication
from ..notifications import (
    notify_campaign_approved,
    notify_campaign_rejected,
    notify_campaign_submitted,
)
from .publications import cancel_publication, pause_publication, resume_publication
from .state import ACTIVE_STATUSES, CS, InvalidTransition, S


def _lock_campaign(campaign_id: int) -> Campaign:
    qs = Campaign.objects.all()
    if connection.features.has_select_for_update:
        qs = qs.select_for_update()
    return qs.get(pk=campaign_id)


def _set_campaign_status(campaign: Campaign, locked: Campaign, to_status: str, **fields) -> None:
    locked.status = to_status
    for name, value in fields.items():
        setattr(locked, name, value)
    locked.save(update_fields=["status", "updated_at", *fields])
    campaign.status = locked.status
    for name, value in fields.items():
        setattr(campaign, name, value)


def _announce_after_commit(signal, campaign: Campaign) -> None:
    """Tell the channels once the campaign's new status is committed (see signals)."""
    transaction.on_commit(lambda: signal.send(Campaign, campaign=campaign))


def create_campaign(actor=None, **fields) -> Campaign:
    """Create a draft campaign. Raises ValidationError (end before start, bad slug...)."""
    campaign = Campaign(status=CS.DRAFT, **fields)
    if campaign.owner_id is None and actor is not None:
        campaign.owner = actor
    campaign.full_clean()
    campaign.save()
    return campaign


# Fields an editor may change; status and approval only change through the actions.
EDITABLE_CAMPAIGN_FIELDS = (
    "name", "slug", "goal", "description", "start_date", "end_date", "owner",
    "target_keyphrases", "budget", "currency",
)  # fmt: skip


def update_campaign(campaign: Campaign, actor=None, **fields) -> Campaign:
    """Save an editor's changes to a campaign that is not closed. Writes only the given
    editable fields, so a concurrent approval or pause is never overwritten.
    Raises ValidationError (end before start, duplicate slug, closed campaign...)."""
    unknown = set(fields) - set(EDITABLE_CAMPAIGN_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    if campaign.status in (CS.CANCELLED, CS.FINISHED):
        raise InvalidTransition(_("A closed campaign cannot be edited."), code="closed")
    for name, value in fields.items():
        setattr(campaign, name, value)
    campaign.full_clean(exclude=[f for f in EDITABLE_CAMPAIGN_FIELDS if f not in fields])
    campaign.save(update_fields=[*fields, "updated_at"])
    return campaign


def submit_campaign_for_approval(campaign: Campaign, actor=None) -> Campaign:
    """Submit a draft and ask everyone who may approve it (notice now, email after
    commit, each in the reader's language)."""
    with transaction.atomic():
        locked = _lock_campaign(campaign.pk)
        if locked.status != CS.DRAFT:
            raise InvalidTransition(
                _("Only a draft campaign can be submitted for approval."), code="not_draft"
            )
        _set_campaign_status(campaign, locked, CS.AWAITING_APPROVAL)
    notify_campaign_submitted(campaign, actor)
    return campaign


def approve_campaign(campaign: Campaign, actor) -> Campaign:
    """Approve a campaign. Needs campaigns.approve_campaign; nobody approves their own
    campaign unless they are a superuser."""
    if actor is None or not actor.has_perm("campaigns.approve_campaign"):
        raise PermissionDenied(_("You do not have permission to approve campaigns."))
    with transaction.atomic():
        locked = _lock_campaign(campaign.pk)
        if locked.status not in (CS.DRAFT, CS.AWAITING_APPROVAL):
            raise InvalidTransition(
                _("Only a draft or submitted campaign can be approved."), code="not_submitted"
            )
        _set_campaign_status(
            campaign, locked, CS.APPROVED, approved_by=actor, approved_at=timezone.now()
        )
    notify_campaign_approved(campaign, actor)
    return campaign


def reject_campaign(campaign: Campaign, actor, reason: str = "") -> Campaign:
    if actor is None or not actor.has_perm("campaigns.approve_campaign"):
        raise PermissionDenied(_("You do not have permission to approve campaigns."))
    with transaction.atomic():
        locked = _lock_campaign(campaign.pk)
        if locked.status != CS.AWAITING_APPROVAL:
            raise InvalidTransition(_("Only a submitted campaign can be rejected."))
        _set_campaign_status(campaign, locked, CS.DRAFT)
    notify_campaign_rejected(campaign, actor, reason)
    return campaign


def pause_campaign(campaign: Campaign, actor=None) -> int:
    """Pause the campaign and every publication still to go out. Returns how many."""
    with transaction.atomic():
        locked = _lock_campaign(campaign.pk)
        if locked.status not in (CS.APPROVED, CS.RUNNING):
            raise InvalidTransition(_("Only an approved or running campaign can be paused."))
        _set_campaign_status(campaign, locked, CS.PAUSED)
        _announce_after_commit(signals.campaign_paused, campaign)
    # Each publication in its own short transaction: a campaign can have thousands, and
    # the dispatcher must not wait on one long lock.
    count = 0
    for pk in _open_publication_ids(campaign, (S.SCHEDULED, S.QUEUED, S.UNKNOWN, S.PUBLISHING)):
        try:
            pause_publication(Publication(pk=pk), actor, _("Campaign paused."))
            count += 1
        except InvalidTransition:
            pass  # finished in the meantime
    return count


def resume_campaign(campaign: Campaign, actor=None, *, now=None) -> int:
    with transaction.atomic():
        locked = _lock_campaign(campaign.pk)
        if locked.status != CS.PAUSED:
            raise InvalidTransition(_("Only a paused campaign can be resumed."))
        started = locked.publications.filter(status=S.PUBLISHED).exists()
        _set_campaign_status(campaign, locked, CS.RUNNING if started else CS.APPROVED)
        _announce_after_commit(signals.campaign_resumed, campaign)
    count = 0
    for pk in _open_publication_ids(campaign, (S.PAUSED, S.PUBLISHING)):
        try:
            resume_publication(Publication(pk=pk), actor, now=now)
            count += 1
        except ValidationError:
            pass
    return count


def cancel_campaign(campaign: Campaign, actor=None) -> int:
    with transaction.atomic():
        locked = _lock_campaign(campaign.pk)
        if locked.status in (CS.CANCELLED, CS.FINISHED):
            raise InvalidTransition(_("The campaign is already closed."))
        _set_campaign_status(campaign, locked, CS.CANCELLED)
        _announce_after_commit(signals.campaign_cancelled, campaign)
    count = 0
    for pk in _open_publication_ids(
        campaign, (S.DRAFT, S.SCHEDULED, S.QUEUED, S.UNKNOWN, S.PAUSED, S.FAILED, S.PUBLISHING)
    ):
        try:
            cancel_publication(Publication(pk=pk), actor, _("Campaign cancelled."))
            count += 1
        except InvalidTransition:
            pass
    return count


def _open_publication_ids(campaign: Campaign, statuses) -> list[int]:
    return list(
        Publication.objects.filter(campaign=campaign, status__in=statuses).values_list(
            "pk", flat=True
        )
    )


def update_campaign_progress(campaign_id: int, today=None) -> None:
    """approved -> running after the first publication; running -> finished when the
    end date has passed and nothing is left to go out."""
    today = today or timezone.localdate()
    with transaction.atomic():
        campaign = _lock_campaign(campaign_id)
        if (
            campaign.status == CS.APPROVED
            and campaign.publications.filter(status=S.PUBLISHED).exists()
        ):
            _set_campaign_status(campaign, campaign, CS.RUNNING)
        if (
            campaign.status == CS.RUNNING
            and campaign.end_date < today
            and not campaign.publications.filter(status__in=ACTIVE_STATUSES).exists()
        ):
            _set_campaign_status(campaign, campaign, CS.FINISHED)
