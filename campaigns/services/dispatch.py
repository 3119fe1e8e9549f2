"""The dispatcher and the sweeper: claim due rows, respect per-account rate limits,
hand claimed rows to workers, recover rows a crash left behind.

Future work lives in the database: `Publication.due_at` says when the dispatcher must
act. `claim_due_publications` claims due rows (row locks with SKIP LOCKED where the
database has them, plus a conditional UPDATE that is correct on its own, e.g. SQLite)
and hands them to workers after commit. No Celery ETA or countdown anywhere.

The hand-off is the `publications_due` signal (campaigns.signals); `campaigns.tasks`
listens and enqueues one publish task per id, so this module never imports Celery.
Callers that drive the pipeline themselves (tests, benchmarks) pass `enqueue=`.
"""

from __future__ import annotations

import datetime
import logging
import uuid
from collections.abc import Callable

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from channels.models import ChannelAccount

from ..models import Publication, PublicationEvent
from ..notifications import notify_publication_problem
from ..signals import publications_due
from .state import CLAIMABLE_STATUSES, S, lock_publication, max_attempts, transition

logger = logging.getLogger(__name__)

Enqueue = Callable[[list[int]], None]


def announce_due_publications(ids: list[int]) -> None:
    """The default hand-off: send `publications_due` for the claimed ids (the tasks
    module enqueues them). If the broker is down part way, the rest stay queued and the
    sweeper hands them over again."""
    publications_due.send(sender=Publication, publication_ids=list(ids))


def claim_due_publications(
    limit: int | None = None, now=None, enqueue: Enqueue | None = None
) -> list[int]:
    """Claim up to `limit` due rows (scheduled, or unknown and due for a lookup), mark
    them queued and hand them to workers after commit (`enqueue`, by default
    `announce_due_publications`). Returns the claimed ids.

    Safe with any number of concurrent dispatchers: on PostgreSQL candidates are locked
    with SKIP LOCKED so dispatchers never wait on each other; the claiming UPDATE is
    conditional on the status and tagged with a fresh token, so even without row locks
    (SQLite) a row is claimed by exactly one caller. Per-account rate limits
    (rate_limit_per_minute, 0 = none) cap the rows handed out per rolling minute.
    """
    now = now or timezone.now()
    limit = limit or settings.CAMPAIGNS_DISPATCH_BATCH
    enqueue = enqueue or announce_due_publications
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


def dispatch_due_publications(max_seconds: float = 0.9, now_fn=timezone.now) -> int:
    """One dispatcher tick: claim batches until nothing is due or the time is up."""
    deadline = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=max_seconds)
    total = 0
    batch = settings.CAMPAIGNS_DISPATCH_BATCH
    while True:
        ids = claim_due_publications(batch, now=now_fn())
        total += len(ids)
        if len(ids) < batch or datetime.datetime.now(datetime.UTC) >= deadline:
            break
    # The tick runs every second: an idle one says nothing above DEBUG, so the console
    # shows the ticks that did something (campaigns.tasks quiets Celery's own lines).
    if total:
        logger.info("dispatcher claimed %d due publication(s)", total)
    else:
        logger.debug("dispatcher: nothing due")
    return total


# --- Sweeper ---------------------------------------------------------------------------


def sweep_stuck_publications(now=None, enqueue: Enqueue | None = None) -> dict[str, int]:
    """Recover rows a crash left behind.

    * queued longer than CAMPAIGNS_STUCK_QUEUED_SECONDS: the message was lost (broker
      restart, enqueue failed after commit): hand it to workers again (`enqueue`, as for
      the dispatcher). A duplicate is harmless.
    * publishing longer than CAMPAIGNS_STUCK_PUBLISHING_SECONDS (above the task's hard
      time limit, so the worker is surely gone): the outcome is unknown; make it due
      for an attempt that looks the post up first.
    """
    now = now or timezone.now()
    enqueue = enqueue or announce_due_publications
    requeued = _requeue_lost_messages(now)
    recovered = _recover_lost_attempts(now)
    if requeued:
        transaction.on_commit(lambda: enqueue(requeued))
    if requeued or recovered:
        logger.info(
            "sweeper re-queued %d and recovered %d stuck publication(s)", len(requeued), recovered
        )
    else:
        logger.debug("sweeper: nothing stuck")
    return {"requeued": len(requeued), "recovered": recovered}


def _requeue_lost_messages(now) -> list[int]:
    queued_cutoff = now - datetime.timedelta(seconds=settings.CAMPAIGNS_STUCK_QUEUED_SECONDS)
    requeued = []
    stuck_queued = Publication.objects.filter(status=S.QUEUED, queued_at__lt=queued_cutoff)
    for pk in stuck_queued.values_list("pk", flat=True)[:5000]:
        with transaction.atomic():
            pub = lock_publication(pk)
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
    return requeued


def _recover_lost_attempts(now) -> int:
    publishing_cutoff = now - datetime.timedelta(
        seconds=settings.CAMPAIGNS_STUCK_PUBLISHING_SECONDS
    )
    recovered = 0
    stuck = Publication.objects.filter(status=S.PUBLISHING, started_at__lt=publishing_cutoff)
    for pk in stuck.values_list("pk", flat=True)[:5000]:
        notice = None
        with transaction.atomic():
            pub = lock_publication(pk)
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
                notice = _unknown_notice(pub)
            else:
                transition(pub, S.UNKNOWN, None, reason, due_at=now, needs_lookup=True)
            recovered += 1
        if notice:
            notify_publication_problem(pub, notice)
    return recovered


def _unknown_notice(pub: Publication):
    # Built when each reader is notified, in their language (campaigns.notifications).
    return lambda: (
        _("“%(pub)s” may or may not have been published; check the channel.") % {"pub": pub}
    )
