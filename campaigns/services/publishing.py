"""Publishing one publication: the attempt, its outcome, the next occurrence.

Exactly-once publishing (docs/architecture.md, "Scheduling"):

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
* A post recorded as published sends `publication_published` (campaigns.signals), so
  channel follow-ups (e.g. the feed verification) start without this module naming them.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from channels.base import AlreadyPublished, OutcomeUnknown, PublishError, PublishResult
from channels.registry import UnknownChannelKind

from .. import recurrence
from ..models import Publication
from ..notifications import notify_publication_problem
from ..signals import publication_published
from .campaigns import update_campaign_progress
from .state import (
    CS,
    SCHEDULABLE_CAMPAIGN_STATUSES,
    S,
    lock_publication,
    log_event,
    max_attempts,
    retry_backoff,
    transition,
)

logger = logging.getLogger(__name__)


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
        pub = lock_publication(publication_id)
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
        return _look_up_announced_post(adapter, pub, exc)
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


def _look_up_announced_post(adapter, pub: Publication, announced: AlreadyPublished):
    """The channel says our post exists: fetch it now; if that fails or it is not
    visible yet, the outcome stays unknown and the next attempt looks again."""
    logger.info("publication %s already on the channel: %s", pub.pk, announced)
    try:
        existing = adapter.find_existing(pub)
    except Exception as exc:  # noqa: BLE001 - still unknown, looked up again
        return AttemptOutcome("unknown", error=_("Lookup failed: %(e)s") % {"e": exc})
    if existing is not None:
        return AttemptOutcome("found", result=existing)
    return AttemptOutcome("unknown", error=str(announced))


def _record_outcome(publication_id: int, attempt: int, outcome: AttemptOutcome, now) -> str:
    """Store what the attempt found out, on the re-locked row. Returns the result name
    `publish_publication` documents. The owner is notified after the transaction."""
    with transaction.atomic():
        pub = lock_publication(publication_id)
        if pub is None:  # deleted while the attempt ran
            logger.warning("publication %s vanished during attempt %s", publication_id, attempt)
            return "missing"
        if outcome.kind in ("published", "found"):
            return _record_success(pub, attempt, outcome, now)
        if pub.status != S.PUBLISHING or pub.attempt_count != attempt:
            return _ignore_late_result(pub, attempt, outcome)
        result, notice = _record_failure(pub, attempt, outcome, now)
    if notice:
        notify_publication_problem(pub, notice)
    return result


def _record_success(pub: Publication, attempt: int, outcome: AttemptOutcome, now) -> str:
    """The post is out (published now, or found from an earlier attempt): a fact,
    recorded from any open state, even if a cancel arrived meanwhile."""
    result = outcome.result
    reason = (
        _("Found on the channel (an earlier attempt had posted it).")
        if outcome.kind == "found"
        else _("Published.")
    )
    if pub.pending_action == "cancel":
        reason += " " + _("A cancel arrived while it was being sent: too late.")
    if pub.status == S.PUBLISHED:
        log_event(pub, S.PUBLISHED, S.PUBLISHED, None, reason, details={"duplicate_result": True})
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
    _announce_published(pub, now)
    transaction.on_commit(lambda: update_campaign_progress(pub.campaign_id))
    return outcome.kind


def _announce_published(pub: Publication, now) -> None:
    """Send `publication_published` inside the transaction. A receiver that fails is
    logged, never allowed to undo the record of a post that is live."""
    responses = publication_published.send_robust(
        sender=Publication, publication=pub, published_at=now
    )
    for receiver, response in responses:
        if isinstance(response, Exception):
            logger.error(
                "publication_published receiver %r failed for publication %s: %r",
                receiver,
                pub.pk,
                response,
                exc_info=response,
            )


def _ignore_late_result(pub: Publication, attempt: int, outcome: AttemptOutcome) -> str:
    # The sweeper (or a person) already moved on from this attempt.
    log_event(
        pub,
        pub.status,
        pub.status,
        None,
        _("Late result of attempt %(n)d ignored: %(e)s") % {"n": attempt, "e": outcome.error},
    )
    return "skipped"


def _record_failure(
    pub: Publication, attempt: int, outcome: AttemptOutcome, now
) -> tuple[str, Callable[[], str] | None]:
    """No post came of this attempt (or we cannot tell). A requested cancel wins, then:
    fail, give up as unknown, or retry later (paused instead when a pause was asked
    for). Returns (result, notice for the owner or None); the notice is built later,
    in the owner's language (campaigns.notifications)."""
    needs_lookup = outcome.kind in ("unknown", "unverifiable") or pub.needs_lookup
    details = {"error": outcome.error, "attempt": attempt}
    common = dict(
        details=details, last_error=outcome.error, needs_lookup=needs_lookup, pending_action=""
    )
    exhausted = attempt >= max_attempts()
    if pub.pending_action == "cancel":
        reason = _("Cancelled after attempt %(n)d: %(e)s") % {"n": attempt, "e": outcome.error}
        transition(pub, S.CANCELLED, None, reason, due_at=None, **common)
        return "cancelled", None
    if outcome.kind == "permanent" or (outcome.kind == "transient" and exhausted):
        transition(
            pub, S.FAILED, None, _("Failed: %(e)s") % {"e": outcome.error}, due_at=None, **common
        )
        return "failed", _failed_notice(pub, outcome.error)
    if outcome.kind == "unverifiable" or (outcome.kind == "unknown" and exhausted):
        reason = _("Outcome unknown: %(e)s") % {"e": outcome.error}
        transition(pub, S.UNKNOWN, None, reason, due_at=None, **common)
        return "unknown", _unknown_notice(pub, outcome.error)
    return _retry_later(pub, attempt, outcome, now, common), None


# The owner's notices, built when the owner is notified, in their language.
def _failed_notice(pub: Publication, error: str) -> Callable[[], str]:
    return lambda: _("Publishing “%(pub)s” failed: %(e)s") % {"pub": pub, "e": error}


def _unknown_notice(pub: Publication, error: str) -> Callable[[], str]:
    return lambda: (
        _("“%(pub)s” may or may not have been published; check the channel: %(e)s")
        % {"pub": pub, "e": error}
    )


def _retry_later(pub: Publication, attempt: int, outcome: AttemptOutcome, now, common) -> str:
    """Back in the database with a later due_at (looked up first if the outcome is
    unknown), or paused if a pause arrived during the attempt."""
    delay = retry_backoff(attempt, outcome.retry_after)
    common["details"]["retry_in_seconds"] = delay
    if pub.pending_action == "pause":
        reason = _("Paused after attempt %(n)d: %(e)s") % {"n": attempt, "e": outcome.error}
        transition(pub, S.PAUSED, None, reason, due_at=None, **common)
        return "paused"
    target = S.UNKNOWN if common["needs_lookup"] else S.SCHEDULED
    transition(
        pub,
        target,
        None,
        _("Attempt %(n)d failed (%(e)s); retry in %(s)d s.")
        % {"n": attempt, "e": outcome.error, "s": delay},
        due_at=now + datetime.timedelta(seconds=delay),
        **common,
    )
    return "retry" if target == S.SCHEDULED else "unknown"


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
    log_event(
        next_pub, S.DRAFT, S.SCHEDULED, None, _("Next occurrence of #%(pk)d.") % {"pk": pub.pk}
    )
    return next_pub
