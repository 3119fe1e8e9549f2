"""Publication actions: what an editor (or another app's service) does to one
publication. Each takes the row lock, checks the state machine and logs who did it."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import recurrence
from ..models import Publication
from .state import (
    CS,
    EDITABLE_STATUSES,
    EDITOR_FIELDS,
    InvalidTransition,
    S,
    copy_saved_state,
    lock_publication,
    log_event,
    transition,
)
from .validation import (
    channel_problems,
    validate_channel_account,
    validate_publication_at,
    validate_schedule,
)


def schedule_publication(
    publication: Publication, publish_at, actor=None, *, now=None
) -> Publication:
    """Schedule a draft (or failed) publication. For a recurring one `publish_at` is the
    series start and the first matching occurrence is scheduled.
    Raises ValidationError (all reasons at once) or InvalidTransition."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = lock_publication(publication.pk)
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
    copy_saved_state(publication, locked)
    return publication


def reschedule_publication(
    publication: Publication, publish_at, actor=None, *, now=None
) -> Publication:
    """Move a not yet published publication to a new time. A queued row goes back to
    scheduled (its broker message becomes a no-op); one being published right now is
    refused, because the post may already be out."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = lock_publication(publication.pk)
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
    copy_saved_state(publication, locked)
    return publication


def _after_the_attempt(locked: Publication, action: str, actor, message: str) -> None:
    """A row being published finishes its attempt first; `action` is applied when it
    ends (see publishing: pending_action)."""
    locked.pending_action = action
    locked.save(update_fields=["pending_action", "updated_at"])
    log_event(locked, S.PUBLISHING, S.PUBLISHING, actor, message)


def pause_publication(publication: Publication, actor=None, reason: str = "") -> Publication:
    """Stop a publication from going out. Safe at any moment: a queued row's message
    becomes a no-op; a row being published finishes its current attempt and then stops
    (no retry). Idempotent for paused rows."""
    with transaction.atomic():
        locked = lock_publication(publication.pk)
        reason = reason or _("Paused.")
        if locked.status == S.PAUSED:
            pass
        elif locked.status == S.PUBLISHING:
            _after_the_attempt(
                locked,
                "pause",
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
    copy_saved_state(publication, locked)
    return publication


def resume_publication(publication: Publication, actor=None, *, now=None) -> Publication:
    """Resume a paused publication. If its time has passed it goes out at once; an
    earlier attempt with unknown outcome is looked up first (needs_lookup is kept)."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = lock_publication(publication.pk)
        if locked.status == S.PUBLISHING and locked.pending_action == "pause":
            locked.pending_action = ""
            locked.save(update_fields=["pending_action", "updated_at"])
            log_event(locked, S.PUBLISHING, S.PUBLISHING, actor, _("Pause request withdrawn."))
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
    copy_saved_state(publication, locked)
    return publication


def cancel_publication(publication: Publication, actor=None, reason: str = "") -> Publication:
    """Cancel for good. A row being published finishes its attempt (a post that went
    out is recorded as published) and is then cancelled instead of retried."""
    with transaction.atomic():
        locked = lock_publication(publication.pk)
        reason = reason or _("Cancelled.")
        if locked.status == S.CANCELLED:
            pass
        elif locked.status == S.PUBLISHING:
            _after_the_attempt(
                locked,
                "cancel",
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
    copy_saved_state(publication, locked)
    return publication


def retry_publication(
    publication: Publication, actor=None, *, confirmed_not_posted: bool = False, now=None
) -> Publication:
    """Send a failed or unknown publication again, now. For an unknown outcome the next
    attempt still looks the post up first, unless a person checked the channel and
    confirmed it is not there (`confirmed_not_posted`)."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = lock_publication(publication.pk)
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
    copy_saved_state(publication, locked)
    return publication


def mark_publication_published(publication: Publication, url: str = "", actor=None) -> Publication:
    """A person checked the channel and found the post (for channels without lookup)."""
    with transaction.atomic():
        locked = lock_publication(publication.pk)
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
    copy_saved_state(publication, locked)
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


def save_publication(
    publication: Publication, actor=None, *, schedule: bool, publish_at=None
) -> Publication:
    """Save an editor's changes to `publication` (new or existing, fields already set on
    the instance) and schedule, reschedule or unschedule it, in one transaction: if
    scheduling is refused, nothing is saved (ValidationError with every reason).

    A scheduled or paused row keeps its stored time on save: moving it is a reschedule,
    validated and logged like any other."""
    if schedule:
        refused = channel_problems(publication)
        if refused:
            raise ValidationError(refused, code="refused_by_channel")
    with transaction.atomic():
        if publication.pk is None:
            if actor is not None:
                publication.created_by = actor
            publication.save()
        else:
            _save_edits(publication)
        if schedule:
            if publication.status in (S.DRAFT, S.FAILED):
                schedule_publication(publication, publish_at, actor)
            else:
                # Re-validates everything (content approval, channel, time).
                reschedule_publication(publication, publish_at, actor)
        elif publication.status in (S.SCHEDULED, S.PAUSED):
            unschedule_publication(publication, actor)
    return publication


def _save_edits(publication: Publication) -> None:
    """Write an editor's fields onto the locked row. The editor's copy was read when the
    form opened; if the pipeline moved the row on since (claimed, published), saving it
    whole would undo that and could publish it twice, so the edit is refused. Only the
    editor's own fields are written."""
    locked = lock_publication(publication.pk)
    if locked.status != publication.status or locked.status not in EDITABLE_STATUSES:
        raise ValidationError(
            _("This publication changed while you edited it (it is now %(status)s): reload it.")
            % {"status": locked.get_status_display().lower()},
            code="changed_meanwhile",
        )
    # A draft's time is only a plan; a scheduled row's time moves by a logged reschedule.
    planned = ("publish_at",) if locked.status in (S.DRAFT, S.FAILED) else ()
    publication.save(update_fields=(*EDITOR_FIELDS, *planned, "updated_at"))
    publication.refresh_from_db()


def set_publication_cost(publication: Publication, cost, actor=None) -> Publication:
    """Enter (or clear, None) what a publication costs, whatever its status: a sponsored
    post's price is often known only once it is out. Writes the cost alone."""
    if cost is not None and cost < 0:
        raise ValidationError(_("A cost cannot be negative."), code="negative_cost")
    Publication.objects.filter(pk=publication.pk).update(cost=cost, updated_at=timezone.now())
    publication.cost = cost
    return publication


def unschedule_publication(publication: Publication, actor=None) -> Publication:
    """Back to draft: it will not go out until it is scheduled again."""
    with transaction.atomic():
        locked = lock_publication(publication.pk)
        transition(locked, S.DRAFT, actor, _("Unscheduled."), due_at=None)
    copy_saved_state(publication, locked)
    return publication


def publish_publication_now(publication: Publication, actor=None, *, now=None) -> Publication:
    """Send a draft, scheduled or paused publication at once: the same checks as
    scheduling (campaign, channel, content), then due now, so the next dispatcher tick
    claims it. An earlier attempt with an unknown outcome is looked up first. Recurring
    publications follow their rule and are refused."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = lock_publication(publication.pk)
        if locked.status not in (S.DRAFT, S.SCHEDULED, S.PAUSED):
            raise InvalidTransition(
                _("A %(status)s publication cannot be published now.")
                % {"status": locked.get_status_display().lower()},
                code="not_publishable_now",
            )
        if locked.recurrence:
            raise ValidationError(
                _("A recurring publication follows its rule: schedule it instead."),
                code="recurring",
            )
        errors = validate_publication_at(locked, now)
        if errors:
            raise ValidationError(errors, code="not_schedulable")
        # As on resume: a paused row whose last outcome is unknown shows as unknown; the
        # attempt looks the post up first whenever needs_lookup is set.
        paused_unknown = locked.status == S.PAUSED and locked.needs_lookup
        transition(
            locked,
            S.UNKNOWN if paused_unknown else S.SCHEDULED,
            actor,
            _("Publish now requested."),
            publish_at=now,
            due_at=now,
            held_for_reapproval=False,
        )
    copy_saved_state(publication, locked)
    return publication


def record_public_url(publication: Publication, url: str, actor=None) -> Publication:
    """Record where the post can be read (e.g. a manual placement's URL reported by a
    person). Only the URL changes, never the status; the audit log says who set it."""
    with transaction.atomic():
        locked = lock_publication(publication.pk)
        previous = locked.public_url
        locked.public_url = url
        locked.save(update_fields=["public_url", "updated_at"])
        log_event(
            locked,
            locked.status,
            locked.status,
            actor,
            _("Public URL recorded: %(url)s") % {"url": url},
            details={"public_url": url, "previous_public_url": previous},
        )
    copy_saved_state(publication, locked)
    return publication
