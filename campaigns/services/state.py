"""The publication state machine: allowed transitions, the row lock, the audit log.

Every function that changes a status takes the row lock (`lock_publication`), checks the
transition table (`transition`) and writes a PublicationEvent (who, when, why).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils.translation import gettext as _

from ..models import Campaign, Publication, PublicationEvent

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
# What a person may still edit, and the fields an edit writes: never the pipeline's own
# (status, due time, attempts, lookup, results), which only the services change.
EDITABLE_STATUSES = (S.DRAFT, S.SCHEDULED, S.PAUSED, S.FAILED)
EDITOR_FIELDS = (
    "page",
    "channel_account",
    "timezone",
    "recurrence",
    "title_override",
    "excerpt_override",
    "forum_category",
    "tags",
    "email_subject",
    "email_preheader",
    "cost",
)
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


def lock_publication(publication_id: int) -> Publication | None:
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

    The caller holds the row lock (see `lock_publication`). Raises InvalidTransition.
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
    log_event(publication, from_status, to_status, actor, reason, is_attempt, details)
    return publication


def log_event(
    publication, from_status, to_status, actor=None, reason="", is_attempt=False, details=None
) -> PublicationEvent:
    """One audit-log entry. Also used on its own for changes that keep the status
    (a pause requested mid-attempt, a public URL recorded, a late result ignored)."""
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


def copy_saved_state(target: Publication, source: Publication) -> None:
    """Copy the saved state of `source` (the locked row) onto the caller's instance."""
    if target is source:
        return
    for f in Publication._meta.concrete_fields:
        setattr(target, f.attname, getattr(source, f.attname))
