"""Campaign and schedule business logic. The only code that changes a status.

Exactly-once publishing (DESIGN.md, "Scheduling"):

* Future work lives in the database: `Publication.due_at` says when the dispatcher must
  act. `claim_due_publications` claims due rows (row locks with SKIP LOCKED where the
  database has them, plus a conditional UPDATE that is correct on its own, e.g. SQLite)
  and enqueues the publish task after commit. No Celery ETA or countdown anywhere.
* `publish_publication` re-locks the row and returns unless it is still "queued", so a
  task delivered twice publishes once. It records the attempt before calling the
  channel and stores the result after it.
* An attempt whose response never came back (the adapter's OutcomeUnknown, any other
  exception, a killed worker found by the sweeper) leaves `needs_lookup` set; the next
  attempt asks `find_existing` before posting again. An AlreadyPublished answer is
  looked up at once and recorded as found.
* Transient errors retry with exponential backoff by putting the row back in the
  database with a later `due_at` (no message waits in the broker, so the visibility
  timeout can never redeliver it); permanent errors fail at once and notify the owner.

Every function that changes a status takes the row lock, checks the transition table
and writes a PublicationEvent (who, when, why).
"""

from __future__ import annotations

import datetime
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from channels.base import AlreadyPublished, OutcomeUnknown, PublishError, PublishResult
from channels.models import ChannelAccount
from channels.registry import UnknownChannelKind, get_adapter_class
from channels.verification import start_feed_verification

from . import recurrence
from .models import Campaign, Notification, Publication, PublicationEvent

logger = logging.getLogger(__name__)

S = Publication.Status
CS = Campaign.Status

# Allowed publication transitions. Anything else raises InvalidTransition.
TRANSITIONS: dict[str, set[str]] = {
    S.DRAFT: {S.SCHEDULED, S.CANCELLED},
    S.SCHEDULED: {S.QUEUED, S.PAUSED, S.CANCELLED, S.DRAFT, S.SCHEDULED},
    S.QUEUED: {S.PUBLISHING, S.PAUSED, S.CANCELLED, S.SCHEDULED, S.DRAFT, S.QUEUED},
    S.PUBLISHING: {S.PUBLISHED, S.FAILED, S.UNKNOWN, S.SCHEDULED, S.PAUSED, S.CANCELLED},
    S.UNKNOWN: {S.QUEUED, S.PUBLISHED, S.FAILED, S.PAUSED, S.CANCELLED, S.SCHEDULED},
    S.FAILED: {S.SCHEDULED, S.CANCELLED, S.DRAFT},
    S.PAUSED: {S.SCHEDULED, S.CANCELLED, S.PAUSED, S.DRAFT, S.UNKNOWN},
    S.PUBLISHED: set(),
    S.CANCELLED: set(),
}
# A success reported by the channel is a fact: it is recorded from any open state.
for _state in (S.DRAFT, S.SCHEDULED, S.QUEUED, S.FAILED, S.PAUSED, S.CANCELLED):
    TRANSITIONS[_state].add(S.PUBLISHED)

ACTIVE_STATUSES = (S.SCHEDULED, S.QUEUED, S.PUBLISHING, S.UNKNOWN, S.PAUSED)
CLAIMABLE_STATUSES = (S.SCHEDULED, S.UNKNOWN)
SCHEDULABLE_CAMPAIGN_STATUSES = (CS.APPROVED, CS.RUNNING)


class InvalidTransition(ValidationError):
    """A status change the state machine does not allow (e.g. cancel a published row)."""


def max_attempts() -> int:
    return settings.CAMPAIGNS_PUBLISH_MAX_ATTEMPTS


def retry_backoff(attempt: int, retry_after: float | None = None) -> float:
    """Seconds to wait before attempt `attempt + 1`: base * 2^(attempt-1), at least what
    the channel asked for, capped. The cap also stays under half the broker's visibility
    timeout, although retries wait in the database, not in the broker."""
    base = settings.CAMPAIGNS_RETRY_BASE_SECONDS
    cap = settings.CAMPAIGNS_RETRY_MAX_SECONDS
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout")
    if visibility:
        cap = min(cap, visibility / 2)
    delay = base * (2 ** max(0, attempt - 1))
    if retry_after:
        delay = max(delay, retry_after)
    return float(min(delay, cap))


# --- Transitions and the audit log -------------------------------------------------------


def _lock(publication_id: int) -> Publication | None:
    """The row, locked until the end of the current transaction. On SQLite the whole
    database is write-locked by the IMMEDIATE transaction, which serves the same end."""
    qs = Publication.objects.select_related("campaign", "channel_account")
    if connection.features.has_select_for_update:
        qs = qs.select_for_update(of=("self",))
    return qs.filter(pk=publication_id).first()


def transition(
    publication: Publication,
    to_status: str,
    actor=None,
    reason: str = "",
    *,
    is_attempt: bool = False,
    details: dict | None = None,
    **fields,
) -> Publication:
    """Move `publication` to `to_status`, set `fields`, save and log it.

    The caller holds the row lock (see `_lock`). Raises InvalidTransition.
    """
    from_status = publication.status
    if to_status not in TRANSITIONS.get(from_status, set()):
        raise InvalidTransition(
            _("A publication cannot go from “%(from)s” to “%(to)s”.")
            % {"from": S(from_status).label, "to": S(to_status).label},
            code="invalid_transition",
        )
    publication.status = to_status
    for name, value in fields.items():
        setattr(publication, name, value)
    publication.save(update_fields=["status", "updated_at", *fields])
    _log(publication, from_status, to_status, actor, reason, is_attempt, details)
    return publication


def _log(
    publication, from_status, to_status, actor=None, reason="", is_attempt=False, details=None
):
    return PublicationEvent.objects.create(
        publication=publication,
        from_status=from_status,
        to_status=to_status,
        actor=actor if getattr(actor, "pk", None) else None,
        reason=str(reason),
        is_attempt=is_attempt,
        attempt_number=publication.attempt_count if is_attempt else None,
        details=details or {},
    )


# --- Validation ----------------------------------------------------------------------------


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
    errors: list[str] = []
    if publish_at is None:
        errors.append(_("Enter a publish time."))
    elif timezone.is_naive(publish_at):
        errors.append(_("The publish time must include a time zone."))
    elif publish_at <= now:
        errors.append(
            _("The publish time %(when)s is in the past.")
            % {"when": timezone.localtime(publish_at).strftime("%Y-%m-%d %H:%M %Z")}
        )
    campaign = publication.campaign
    if campaign.status not in SCHEDULABLE_CAMPAIGN_STATUSES:
        errors.append(
            _("The campaign “%(name)s” is not approved (it is %(status)s).")
            % {"name": campaign.name, "status": campaign.get_status_display().lower()}
        )
    if publish_at is not None and not timezone.is_naive(publish_at):
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
    if publication.recurrence and publish_at is not None and not timezone.is_naive(publish_at):
        try:
            recurrence.first_occurrence(publication.recurrence, publish_at, publication.timezone)
        except ValidationError as exc:
            errors.extend(exc.messages)
    return errors


# --- Publication actions ---------------------------------------------------------------


def schedule_publication(
    publication: Publication, publish_at, actor=None, *, now=None
) -> Publication:
    """Schedule a draft (or failed) publication. For a recurring one `publish_at` is the
    series start and the first matching occurrence is scheduled.
    Raises ValidationError (all reasons at once) or InvalidTransition."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock(publication.pk)
        errors = validate_schedule(locked, publish_at, now)
        if errors:
            raise ValidationError(errors, code="not_schedulable")
        if locked.recurrence:
            publish_at = recurrence.first_occurrence(locked.recurrence, publish_at, locked.timezone)
            locked.recurrence = recurrence.normalise_rule(locked.recurrence)
        fields = dict(
            publish_at=publish_at,
            due_at=publish_at,
            held_for_reapproval=False,
            recurrence=locked.recurrence,
        )
        if locked.recurrence and locked.series_id is None:
            fields["series"] = locked
        transition(
            locked,
            S.SCHEDULED,
            actor,
            _("Scheduled for %(when)s.") % {"when": publish_at.isoformat()},
            **fields,
        )
    _refresh(publication, locked)
    return publication


def reschedule_publication(
    publication: Publication, publish_at, actor=None, *, now=None
) -> Publication:
    """Move a not yet published publication to a new time. A queued row goes back to
    scheduled (its broker message becomes a no-op); one being published right now is
    refused, because the post may already be out."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock(publication.pk)
        if locked.status == S.PUBLISHING:
            raise InvalidTransition(
                _("“%(pub)s” is being published right now; reschedule it after it finishes.")
                % {"pub": locked},
                code="in_flight",
            )
        if locked.status in (S.PUBLISHED, S.CANCELLED):
            raise InvalidTransition(
                _("A %(status)s publication cannot be rescheduled.")
                % {"status": locked.get_status_display().lower()},
                code="closed",
            )
        errors = validate_schedule(locked, publish_at, now)
        if errors:
            raise ValidationError(errors, code="not_schedulable")
        reason = _("Rescheduled from %(old)s to %(new)s.") % {
            "old": locked.publish_at.isoformat() if locked.publish_at else "-",
            "new": publish_at.isoformat(),
        }
        if locked.status == S.PAUSED:
            transition(locked, S.PAUSED, actor, reason, publish_at=publish_at, due_at=None)
        else:
            transition(locked, S.SCHEDULED, actor, reason, publish_at=publish_at, due_at=publish_at)
    _refresh(publication, locked)
    return publication


def pause_publication(publication: Publication, actor=None, reason: str = "") -> Publication:
    """Stop a publication from going out. Safe at any moment: a queued row's message
    becomes a no-op; a row being published finishes its current attempt and then stops
    (no retry). Idempotent for paused rows."""
    with transaction.atomic():
        locked = _lock(publication.pk)
        reason = reason or _("Paused.")
        if locked.status == S.PAUSED:
            pass
        elif locked.status == S.PUBLISHING:
            locked.pending_action = "pause"
            locked.save(update_fields=["pending_action", "updated_at"])
            _log(
                locked,
                S.PUBLISHING,
                S.PUBLISHING,
                actor,
                _("Pause requested during an attempt; applied when it ends."),
            )
        elif locked.status in (S.SCHEDULED, S.QUEUED, S.UNKNOWN, S.DRAFT):
            transition(locked, S.PAUSED, actor, reason, due_at=None)
        else:
            raise InvalidTransition(
                _("A %(status)s publication cannot be paused.")
                % {"status": locked.get_status_display().lower()},
                code="not_pausable",
            )
    _refresh(publication, locked)
    return publication


def resume_publication(publication: Publication, actor=None, *, now=None) -> Publication:
    """Resume a paused publication. If its time has passed it goes out at once; an
    earlier attempt with unknown outcome is looked up first (needs_lookup is kept)."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock(publication.pk)
        if locked.status == S.PUBLISHING and locked.pending_action == "pause":
            locked.pending_action = ""
            locked.save(update_fields=["pending_action", "updated_at"])
            _log(locked, S.PUBLISHING, S.PUBLISHING, actor, _("Pause request withdrawn."))
        elif locked.status != S.PAUSED:
            raise InvalidTransition(
                _("Only a paused publication can be resumed (this one is %(status)s).")
                % {"status": locked.get_status_display().lower()},
                code="not_paused",
            )
        else:
            if locked.campaign.status in (CS.PAUSED, CS.CANCELLED):
                raise ValidationError(
                    _("Resume the campaign “%(name)s” first.") % {"name": locked.campaign.name},
                    code="campaign_paused",
                )
            if locked.publish_at is None:
                raise ValidationError(_("Set a publish time first."), code="no_time")
            target = S.UNKNOWN if locked.needs_lookup else S.SCHEDULED
            transition(locked, target, actor, _("Resumed."), due_at=max(locked.publish_at, now))
    _refresh(publication, locked)
    return publication


def cancel_publication(publication: Publication, actor=None, reason: str = "") -> Publication:
    """Cancel for good. A row being published finishes its attempt (a post that went
    out is recorded as published) and is then cancelled instead of retried."""
    with transaction.atomic():
        locked = _lock(publication.pk)
        reason = reason or _("Cancelled.")
        if locked.status == S.CANCELLED:
            pass
        elif locked.status == S.PUBLISHING:
            locked.pending_action = "cancel"
            locked.save(update_fields=["pending_action", "updated_at"])
            _log(
                locked,
                S.PUBLISHING,
                S.PUBLISHING,
                actor,
                _("Cancel requested during an attempt; applied when it ends."),
            )
        elif locked.status == S.PUBLISHED:
            raise InvalidTransition(
                _("This publication is already published and cannot be cancelled."),
                code="published",
            )
        else:
            transition(locked, S.CANCELLED, actor, reason, due_at=None)
    _refresh(publication, locked)
    return publication


def retry_publication(
    publication: Publication, actor=None, *, confirmed_not_posted: bool = False, now=None
) -> Publication:
    """Send a failed or unknown publication again, now. For an unknown outcome the next
    attempt still looks the post up first, unless a person checked the channel and
    confirmed it is not there (`confirmed_not_posted`)."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock(publication.pk)
        if locked.status not in (S.FAILED, S.UNKNOWN):
            raise InvalidTransition(
                _("Only failed or unknown publications can be retried."), code="not_retryable"
            )
        validate_channel_account(locked.channel_account)
        needs_lookup = locked.needs_lookup and not confirmed_not_posted
        transition(
            locked,
            S.UNKNOWN if needs_lookup else S.SCHEDULED,
            actor,
            _("Retry requested.")
            + (" " + _("Confirmed not posted by a person.") if confirmed_not_posted else ""),
            due_at=now,
            needs_lookup=needs_lookup,
            attempt_count=0,
            last_error="",
        )
    _refresh(publication, locked)
    return publication


def mark_publication_published(publication: Publication, url: str = "", actor=None) -> Publication:
    """A person checked the channel and found the post (for channels without lookup)."""
    with transaction.atomic():
        locked = _lock(publication.pk)
        transition(
            locked,
            S.PUBLISHED,
            actor,
            _("Marked as published by a person."),
            public_url=url or locked.public_url,
            published_at=timezone.now(),
            needs_lookup=False,
            due_at=None,
        )
    _refresh(publication, locked)
    return publication


def bulk_reschedule_publications(
    publications: Iterable[Publication],
    actor=None,
    *,
    shift: datetime.timedelta | None = None,
    publish_at: datetime.datetime | None = None,
    now=None,
) -> tuple[list[Publication], dict[int, list[str]]]:
    """Reschedule many publications, each in its own transaction: either move each by
    `shift` or set all to `publish_at`. Returns (done, {pk: error messages})."""
    if (shift is None) == (publish_at is None):
        raise ValueError("give exactly one of shift or publish_at")
    done, errors = [], {}
    for publication in publications:
        target = publish_at if publish_at is not None else (publication.publish_at + shift)
        try:
            done.append(reschedule_publication(publication, target, actor, now=now))
        except ValidationError as exc:
            errors[publication.pk] = exc.messages
    return done, errors


def _refresh(target: Publication, source: Publication) -> None:
    """Copy the saved state of `source` onto the caller's instance."""
    if target is source:
        return
    for f in Publication._meta.concrete_fields:
        setattr(target, f.attname, getattr(source, f.attname))


# --- Campaign actions ------------------------------------------------------------------


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


def create_campaign(actor=None, **fields) -> Campaign:
    """Create a draft campaign. Raises ValidationError (end before start, bad slug...)."""
    campaign = Campaign(status=CS.DRAFT, **fields)
    if campaign.owner_id is None and actor is not None:
        campaign.owner = actor
    campaign.full_clean()
    campaign.save()
    return campaign


def submit_campaign_for_approval(campaign: Campaign, actor=None) -> Campaign:
    with transaction.atomic():
        locked = _lock_campaign(campaign.pk)
        if locked.status != CS.DRAFT:
            raise InvalidTransition(
                _("Only a draft campaign can be submitted for approval."), code="not_draft"
            )
        _set_campaign_status(campaign, locked, CS.AWAITING_APPROVAL)
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
    return campaign


def reject_campaign(campaign: Campaign, actor, reason: str = "") -> Campaign:
    if actor is None or not actor.has_perm("campaigns.approve_campaign"):
        raise PermissionDenied(_("You do not have permission to approve campaigns."))
    with transaction.atomic():
        locked = _lock_campaign(campaign.pk)
        if locked.status != CS.AWAITING_APPROVAL:
            raise InvalidTransition(_("Only a submitted campaign can be rejected."))
        _set_campaign_status(campaign, locked, CS.DRAFT)
    notify_user(
        campaign.owner,
        _("Campaign “%(name)s” was sent back: %(reason)s")
        % {"name": campaign.name, "reason": reason or "-"},
        level=Notification.Level.WARNING,
        campaign=campaign,
    )
    return campaign


def pause_campaign(campaign: Campaign, actor=None) -> int:
    """Pause the campaign and every publication still to go out. Returns how many."""
    with transaction.atomic():
        locked = _lock_campaign(campaign.pk)
        if locked.status not in (CS.APPROVED, CS.RUNNING):
            raise InvalidTransition(_("Only an approved or running campaign can be paused."))
        _set_campaign_status(campaign, locked, CS.PAUSED)
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


# --- Content approval ------------------------------------------------------------------


def reconcile_page_approval(page_id: int) -> None:
    """Called after a page (revision) changes. Unapproved edits send the page's
    scheduled publications back to draft ("held for re-approval"); once the content is
    approved again, held publications whose time is still ahead are scheduled again."""
    from wagtail.models import Page

    if not settings.CAMPAIGNS_EDIT_REQUIRES_REAPPROVAL:
        return
    page = Page.objects.filter(pk=page_id).first()
    if page is None:
        return
    approved = is_content_approved(page)
    now = timezone.now()
    if not approved:
        ids = Publication.objects.filter(page_id=page_id, status__in=(S.SCHEDULED, S.QUEUED))
        for pk in ids.values_list("pk", flat=True):
            with transaction.atomic():
                locked = _lock(pk)
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
        return
    held = Publication.objects.filter(page_id=page_id, status=S.DRAFT, held_for_reapproval=True)
    for pk in held.values_list("pk", flat=True):
        with transaction.atomic():
            locked = _lock(pk)
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
                _log(
                    locked,
                    S.DRAFT,
                    S.DRAFT,
                    None,
                    _(
                        "The content was approved again, but the publish time has passed: reschedule it."
                    ),
                )


# --- Dispatcher ------------------------------------------------------------------------


def claim_due_publications(limit: int | None = None, now=None, enqueue=None) -> list[int]:
    """Claim up to `limit` due rows (scheduled, or unknown and due for a lookup), mark
    them queued and enqueue one publish task each after commit. Returns the claimed ids.

    Safe with any number of concurrent dispatchers: on PostgreSQL candidates are locked
    with SKIP LOCKED so dispatchers never wait on each other; the claiming UPDATE is
    conditional on the status and tagged with a fresh token, so even without row locks
    (SQLite) a row is claimed by exactly one caller. Per-account rate limits
    (rate_limit_per_minute, 0 = none) cap the rows handed out per rolling minute.
    """
    now = now or timezone.now()
    limit = limit or settings.CAMPAIGNS_DISPATCH_BATCH
    enqueue = enqueue or _enqueue_publish
    skip_locked = connection.features.has_select_for_update_skip_locked
    with transaction.atomic():
        qs = Publication.objects.filter(status__in=CLAIMABLE_STATUSES, due_at__lte=now).order_by(
            "due_at", "pk"
        )
        if skip_locked:
            qs = qs.select_for_update(skip_locked=True, of=("self",))
        candidates = list(qs.values_list("pk", "channel_account_id", "status")[:limit])
        if not candidates:
            return []
        chosen = _apply_rate_limits(candidates, now, skip_locked)
        if not chosen:
            return []
        token = uuid.uuid4()
        Publication.objects.filter(
            pk__in=[pk for pk, _a, _s in chosen], status__in=CLAIMABLE_STATUSES, due_at__lte=now
        ).update(status=S.QUEUED, queued_at=now, claim_token=token, updated_at=now)
        claimed = set(Publication.objects.filter(claim_token=token).values_list("pk", flat=True))
        PublicationEvent.objects.bulk_create(
            [
                PublicationEvent(
                    publication_id=pk,
                    from_status=status,
                    to_status=S.QUEUED,
                    reason="claimed by the dispatcher",
                )
                for pk, _a, status in chosen
                if pk in claimed
            ],
            batch_size=1000,
        )
        ids = [pk for pk, _a, _s in chosen if pk in claimed]
        transaction.on_commit(lambda: enqueue(ids))
    return ids


def _apply_rate_limits(candidates, now, lock_accounts: bool):
    """Keep, per account, only as many candidates as its rolling-minute budget allows.
    Limited accounts are locked (SKIP LOCKED) so two dispatchers never both spend the
    same budget; a dispatcher that cannot lock an account leaves its rows for later."""
    account_ids = {account for _pk, account, _s in candidates}
    accounts = ChannelAccount.objects.filter(pk__in=account_ids)
    limits = dict(accounts.values_list("pk", "rate_limit_per_minute"))
    limited = [pk for pk, limit in limits.items() if limit]
    if limited and lock_accounts:
        limited_locked = set(
            ChannelAccount.objects.filter(pk__in=limited)
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)
        )
    else:
        limited_locked = set(limited)
    used = dict(
        Publication.objects.filter(
            channel_account_id__in=limited_locked, queued_at__gt=now - datetime.timedelta(minutes=1)
        )
        .values("channel_account_id")
        .annotate(n=Count("pk"))
        .values_list("channel_account_id", "n")
    )
    budget = {pk: limits[pk] - used.get(pk, 0) for pk in limited_locked}
    chosen = []
    for row in candidates:
        account = row[1]
        if not limits.get(account):
            chosen.append(row)
        elif account in budget and budget[account] > 0:
            budget[account] -= 1
            chosen.append(row)
    return chosen


def _enqueue_publish(ids: list[int]) -> None:
    """Hand claimed rows to workers. If the broker is down part way, the rest stay
    queued and the sweeper enqueues them again."""
    from .tasks import publish_publication_task

    for pk in ids:
        publish_publication_task.delay(pk)


def dispatch_due_publications(max_seconds: float = 0.9, now_fn=timezone.now) -> int:
    """One dispatcher tick: claim batches until nothing is due or the time is up."""
    deadline = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=max_seconds)
    total = 0
    batch = settings.CAMPAIGNS_DISPATCH_BATCH
    while True:
        ids = claim_due_publications(batch, now=now_fn())
        total += len(ids)
        if len(ids) < batch or datetime.datetime.now(datetime.UTC) >= deadline:
            return total


# --- Publishing ------------------------------------------------------------------------


@dataclass
class AttemptOutcome:
    kind: str  # "published", "found", "permanent", "transient", "unknown"
    result: PublishResult | None = None
    error: str = ""
    retry_after: float | None = None
    details: dict = field(default_factory=dict)


def publish_publication(publication_id: int, *, now_fn=timezone.now) -> str:
    """Publish one queued publication. Idempotent: returns "skipped" unless the row is
    still queued when locked, so a redelivered or duplicated task does nothing.

    Returns one of "missing", "skipped", "published", "found", "retry", "failed",
    "unknown", "paused", "cancelled".
    """
    with transaction.atomic():
        pub = _lock(publication_id)
        if pub is None:
            return "missing"
        if pub.status != S.QUEUED:
            return "skipped"
        if pub.campaign.status in (CS.PAUSED, CS.CANCELLED):
            to = S.PAUSED if pub.campaign.status == CS.PAUSED else S.CANCELLED
            transition(
                pub,
                to,
                None,
                _("The campaign is %(status)s.")
                % {"status": pub.campaign.get_status_display().lower()},
                due_at=None,
            )
            return to
        attempt = pub.attempt_count + 1
        # The attempt record is committed before the channel is called: whatever
        # happens next, we know an attempt may have reached the channel.
        transition(
            pub,
            S.PUBLISHING,
            None,
            _("Attempt %(n)d started.") % {"n": attempt},
            is_attempt=True,
            details={"lookup_first": pub.needs_lookup},
            attempt_count=attempt,
            started_at=now_fn(),
            pending_action="",
        )

    outcome = _run_attempt(pub)
    return _record_outcome(publication_id, attempt, outcome, now_fn())


def _run_attempt(pub: Publication) -> AttemptOutcome:
    """Talk to the channel. Never raises: every result becomes an AttemptOutcome."""
    try:
        adapter = pub.channel_account.get_adapter()
    except (UnknownChannelKind, ImportError) as exc:
        return AttemptOutcome(
            "permanent", error=_("Unknown channel kind: %(kind)s") % {"kind": exc}
        )
    if pub.needs_lookup:
        try:
            existing = adapter.find_existing(pub)
        except NotImplementedError:
            return AttemptOutcome(
                "unverifiable",
                error=_(
                    "The earlier attempt's outcome is unknown and this channel cannot look posts up: check it by hand."
                ),
            )
        except PublishError as exc:
            kind = "permanent" if exc.permanent else "unknown"
            return AttemptOutcome(
                kind, error=_("Lookup failed: %(e)s") % {"e": exc}, retry_after=exc.retry_after
            )
        except Exception as exc:  # noqa: BLE001 - the channel's problem, still unknown
            logger.exception("find_existing failed for publication %s", pub.pk)
            return AttemptOutcome("unknown", error=_("Lookup failed: %(e)r") % {"e": exc})
        if existing is not None:
            return AttemptOutcome("found", result=existing)
    try:
        rendered = adapter.render(pub)
    except PublishError as exc:
        return AttemptOutcome(
            "permanent" if exc.permanent else "transient",
            error=str(exc),
            retry_after=exc.retry_after,
        )
    except Exception as exc:  # noqa: BLE001 - nothing was sent yet: a plain failure
        logger.exception("render failed for publication %s", pub.pk)
        return AttemptOutcome("transient", error=_("Rendering failed: %(e)r") % {"e": exc})
    try:
        result = adapter.publish(pub, rendered)
    except OutcomeUnknown as exc:
        # The request may have created the post: look it up before any new attempt.
        return AttemptOutcome("unknown", error=str(exc), retry_after=exc.retry_after)
    except AlreadyPublished as exc:
        # The channel says our post exists: fetch it now; if that fails, next attempt.
        logger.info("publication %s already on the channel: %s", pub.pk, exc)
        try:
            existing = adapter.find_existing(pub)
        except Exception as lookup_exc:  # noqa: BLE001 - still unknown, looked up again
            return AttemptOutcome("unknown", error=_("Lookup failed: %(e)s") % {"e": lookup_exc})
        if existing is not None:
            return AttemptOutcome("found", result=existing)
        return AttemptOutcome("unknown", error=str(exc))
    except PublishError as exc:
        # The adapter says the channel refused: nothing was created.
        return AttemptOutcome(
            "permanent" if exc.permanent else "transient",
            error=str(exc),
            retry_after=exc.retry_after,
        )
    except Exception as exc:  # noqa: BLE001 - timeout, dropped connection, soft time limit
        logger.warning("publish of %s ended without an answer: %r", pub.pk, exc)
        return AttemptOutcome("unknown", error=_("No answer from the channel: %(e)r") % {"e": exc})
    return AttemptOutcome("published", result=result or PublishResult())


def _record_outcome(publication_id: int, attempt: int, outcome: AttemptOutcome, now) -> str:
    notify = None
    with transaction.atomic():
        pub = _lock(publication_id)
        if pub is None:  # deleted while the attempt ran
            logger.warning("publication %s vanished during attempt %s", publication_id, attempt)
            return "missing"
        if outcome.kind in ("published", "found"):
            result = outcome.result
            reason = (
                _("Found on the channel (an earlier attempt had posted it).")
                if outcome.kind == "found"
                else _("Published.")
            )
            if pub.pending_action == "cancel":
                reason += " " + _("A cancel arrived while it was being sent: too late.")
            if pub.status == S.PUBLISHED:
                _log(
                    pub, S.PUBLISHED, S.PUBLISHED, None, reason, details={"duplicate_result": True}
                )
                return "skipped"
            transition(
                pub,
                S.PUBLISHED,
                None,
                reason,
                details={"external_id": result.external_id, "url": result.url, "attempt": attempt},
                external_id=result.external_id[:200],
                public_url=result.url[:1000],
                published_at=now,
                due_at=None,
                needs_lookup=False,
                pending_action="",
                last_error="",
            )
            _schedule_next_occurrence(pub)
            start_feed_verification(pub, now)
            transaction.on_commit(lambda: update_campaign_progress(pub.campaign_id))
            return outcome.kind
        if pub.status != S.PUBLISHING or pub.attempt_count != attempt:
            # The sweeper (or a person) already moved on from this attempt.
            _log(
                pub,
                pub.status,
                pub.status,
                None,
                _("Late result of attempt %(n)d ignored: %(e)s")
                % {"n": attempt, "e": outcome.error},
            )
            return "skipped"
        details = {"error": outcome.error, "attempt": attempt}
        needs_lookup = outcome.kind in ("unknown", "unverifiable") or pub.needs_lookup
        common = dict(last_error=outcome.error, needs_lookup=needs_lookup, pending_action="")
        if pub.pending_action == "cancel":
            transition(
                pub,
                S.CANCELLED,
                None,
                _("Cancelled after attempt %(n)d: %(e)s") % {"n": attempt, "e": outcome.error},
                details=details,
                due_at=None,
                **common,
            )
            return "cancelled"
        if outcome.kind == "permanent" or (
            outcome.kind == "transient" and attempt >= max_attempts()
        ):
            transition(
                pub,
                S.FAILED,
                None,
                _("Failed: %(e)s") % {"e": outcome.error},
                details=details,
                due_at=None,
                **common,
            )
            notify = (
                pub,
                _("Publishing “%(pub)s” failed: %(e)s") % {"pub": pub, "e": outcome.error},
            )
            result = "failed"
        elif outcome.kind == "unverifiable" or (
            outcome.kind == "unknown" and attempt >= max_attempts()
        ):
            transition(
                pub,
                S.UNKNOWN,
                None,
                _("Outcome unknown: %(e)s") % {"e": outcome.error},
                details=details,
                due_at=None,
                **common,
            )
            notify = (
                pub,
                _("“%(pub)s” may or may not have been published; check the channel: %(e)s")
                % {"pub": pub, "e": outcome.error},
            )
            result = "unknown"
        else:
            delay = retry_backoff(attempt, outcome.retry_after)
            details["retry_in_seconds"] = delay
            target = S.UNKNOWN if needs_lookup else S.SCHEDULED
            if pub.pending_action == "pause":
                transition(
                    pub,
                    S.PAUSED,
                    None,
                    _("Paused after attempt %(n)d: %(e)s") % {"n": attempt, "e": outcome.error},
                    details=details,
                    due_at=None,
                    **common,
                )
                return "paused"
            transition(
                pub,
                target,
                None,
                _("Attempt %(n)d failed (%(e)s); retry in %(s)d s.")
                % {"n": attempt, "e": outcome.error, "s": delay},
                details=details,
                due_at=now + datetime.timedelta(seconds=delay),
                **common,
            )
            result = "retry" if target == S.SCHEDULED else "unknown"
    if notify:
        notify_publication_problem(*notify)
    return result


def _schedule_next_occurrence(pub: Publication) -> Publication | None:
    """After an occurrence of a recurring series went out, create and schedule the next
    one (its own row, its own idempotency key). The unique (series, publish_at)
    constraint makes this safe against a concurrent duplicate."""
    if not pub.recurrence or pub.publish_at is None:
        return None
    series = pub.series or pub
    nxt = recurrence.next_occurrence(
        pub.recurrence, series.publish_at, pub.publish_at, pub.timezone
    )
    if nxt is None:
        return None
    campaign = pub.campaign
    local_day = nxt.astimezone(recurrence.get_zone(pub.timezone)).date()
    if local_day > campaign.end_date or campaign.status not in SCHEDULABLE_CAMPAIGN_STATUSES:
        return None
    if Publication.objects.filter(series=series, publish_at=nxt).exists():
        return None
    copy_fields = [
        "campaign_id", "page_id", "channel_account_id", "timezone", "recurrence",
        "title_override", "excerpt_override", "forum_category", "tags", "email_subject",
        "email_preheader", "created_by_id",
    ]  # fmt: skip
    next_pub = Publication(**{f: getattr(pub, f) for f in copy_fields})
    # Other apps may add fields (e.g. an audience); carry those over too.
    for f in Publication._meta.concrete_fields:
        if (
            f.is_relation
            and f.attname not in copy_fields
            and f.name not in ("series", "campaign", "page", "channel_account", "created_by")
        ):
            setattr(next_pub, f.attname, getattr(pub, f.attname))
    next_pub.series = series
    next_pub.publish_at = nxt
    next_pub.due_at = nxt
    next_pub.status = S.SCHEDULED
    with transaction.atomic():  # savepoint: a racing duplicate only loses this insert
        try:
            next_pub.save()
        except Exception:  # noqa: BLE001 - IntegrityError from the unique constraint
            logger.info("next occurrence of series %s already exists", series.pk)
            return None
    _log(next_pub, S.DRAFT, S.SCHEDULED, None, _("Next occurrence of #%(pk)d.") % {"pk": pub.pk})
    return next_pub


# --- Sweeper ---------------------------------------------------------------------------


def sweep_stuck_publications(now=None, enqueue=None) -> dict[str, int]:
    """Recover rows a crash left behind.

    * queued longer than CAMPAIGNS_STUCK_QUEUED_SECONDS: the message was lost (broker
      restart, enqueue failed after commit): enqueue again. A duplicate is harmless.
    * publishing longer than CAMPAIGNS_STUCK_PUBLISHING_SECONDS (above the task's hard
      time limit, so the worker is surely gone): the outcome is unknown; make it due
      for an attempt that looks the post up first.
    """
    now = now or timezone.now()
    enqueue = enqueue or _enqueue_publish
    queued_cutoff = now - datetime.timedelta(seconds=settings.CAMPAIGNS_STUCK_QUEUED_SECONDS)
    publishing_cutoff = now - datetime.timedelta(
        seconds=settings.CAMPAIGNS_STUCK_PUBLISHING_SECONDS
    )
    requeued, recovered = [], 0
    stuck_queued = Publication.objects.filter(status=S.QUEUED, queued_at__lt=queued_cutoff)
    for pk in stuck_queued.values_list("pk", flat=True)[:5000]:
        with transaction.atomic():
            pub = _lock(pk)
            if pub.status != S.QUEUED or pub.queued_at >= queued_cutoff:
                continue
            transition(
                pub,
                S.QUEUED,
                None,
                _("Re-enqueued by the sweeper (no worker picked it up)."),
                queued_at=now,
            )
            requeued.append(pk)
    stuck = Publication.objects.filter(status=S.PUBLISHING, started_at__lt=publishing_cutoff)
    for pk in stuck.values_list("pk", flat=True)[:5000]:
        notify = None
        with transaction.atomic():
            pub = _lock(pk)
            if pub.status != S.PUBLISHING or pub.started_at >= publishing_cutoff:
                continue
            reason = _("Attempt %(n)d never finished (worker lost); the outcome is unknown.") % {
                "n": pub.attempt_count
            }
            if pub.pending_action in ("pause", "cancel"):
                to = S.PAUSED if pub.pending_action == "pause" else S.CANCELLED
                transition(pub, to, None, reason, due_at=None, needs_lookup=True, pending_action="")
            elif pub.attempt_count >= max_attempts():
                transition(pub, S.UNKNOWN, None, reason, due_at=None, needs_lookup=True)
                notify = (
                    pub,
                    _("“%(pub)s” may or may not have been published; check the channel.")
                    % {"pub": pub},
                )
            else:
                transition(pub, S.UNKNOWN, None, reason, due_at=now, needs_lookup=True)
            recovered += 1
        if notify:
            notify_publication_problem(*notify)
    if requeued:
        transaction.on_commit(lambda: enqueue(requeued))
    return {"requeued": len(requeued), "recovered": recovered}


# --- Notifications ---------------------------------------------------------------------


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


# --- Queries for the admin ---------------------------------------------------------------


def campaign_summary(campaign: Campaign) -> dict[str, int]:
    counts = dict(
        campaign.publications.values("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    return {status: counts.get(status, 0) for status, _label in S.choices}


def failed_publications(campaign: Campaign):
    return campaign.publications.filter(Q(status=S.FAILED) | Q(status=S.UNKNOWN)).select_related(
        "page", "channel_account"
    )
