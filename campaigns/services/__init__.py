"""Campaign and schedule business logic. The only code that changes a status.

One module per concern; this package re-exports the public names so callers use
`campaigns.services.<name>`:

* state: the transition table, `transition`, the row lock and the audit log
* validation: every reason a publication cannot be scheduled
* publications: actions on one publication (schedule, pause, publish now, ...)
* campaigns: campaign actions and progress
* approval: content approval following the page
* dispatch: claiming due rows, rate limits, the dispatcher and the sweeper
* publishing: one publish attempt and its outcome, the next occurrence
* queries: read-only queries for the admin

Notifications live below the services, in campaigns.notifications; content approval of
a page in content.approval. Both are re-exported here for existing callers.

Modules inside this package import their siblings directly, never this package.
"""

from content.approval import approved_revision, is_content_approved

from ..notifications import (
    mark_notifications_read,
    notify_publication_problem,
    notify_user,
    pop_unshown_notifications,
)
from .approval import reconcile_page_approval
from .campaigns import (
    EDITABLE_CAMPAIGN_FIELDS,
    approve_campaign,
    cancel_campaign,
    create_campaign,
    pause_campaign,
    reject_campaign,
    resume_campaign,
    submit_campaign_for_approval,
    update_campaign,
    update_campaign_progress,
)
from .dispatch import (
    announce_due_publications,
    claim_due_publications,
    dispatch_due_publications,
    sweep_stuck_publications,
)
from .publications import (
    bulk_reschedule_publications,
    cancel_publication,
    mark_publication_published,
    pause_publication,
    publish_publication_now,
    record_public_url,
    reschedule_publication,
    resume_publication,
    retry_publication,
    save_publication,
    schedule_publication,
    set_publication_cost,
    unschedule_publication,
)
from .publishing import AttemptOutcome, publish_publication
from .queries import campaign_summary, failed_publications
from .state import (
    ACTIVE_STATUSES,
    CLAIMABLE_STATUSES,
    SCHEDULABLE_CAMPAIGN_STATUSES,
    TRANSITIONS,
    InvalidTransition,
    max_attempts,
    retry_backoff,
    transition,
)
from .validation import (
    channel_problems,
    validate_campaign_dates,
    validate_channel_account,
    validate_publication_at,
    validate_publish_time,
    validate_schedule,
)

__all__ = [
    "ACTIVE_STATUSES",
    "CLAIMABLE_STATUSES",
    "EDITABLE_CAMPAIGN_FIELDS",
    "SCHEDULABLE_CAMPAIGN_STATUSES",
    "TRANSITIONS",
    "AttemptOutcome",
    "InvalidTransition",
    "announce_due_publications",
    "approve_campaign",
    "approved_revision",
    "bulk_reschedule_publications",
    "campaign_summary",
    "cancel_campaign",
    "cancel_publication",
    "claim_due_publications",
    "create_campaign",
    "dispatch_due_publications",
    "failed_publications",
    "is_content_approved",
    "mark_notifications_read",
    "mark_publication_published",
    "max_attempts",
    "notify_publication_problem",
    "notify_user",
    "pause_campaign",
    "pause_publication",
    "pop_unshown_notifications",
    "publish_publication",
    "publish_publication_now",
    "reconcile_page_approval",
    "record_public_url",
    "reject_campaign",
    "reschedule_publication",
    "resume_campaign",
    "resume_publication",
    "retry_backoff",
    "retry_publication",
    "save_publication",
    "schedule_publication",
    "set_publication_cost",
    "submit_campaign_for_approval",
    "sweep_stuck_publications",
    "transition",
    "unschedule_publication",
    "update_campaign",
    "update_campaign_progress",
    "validate_campaign_dates",
    "validate_channel_account",
    "channel_problems",
    "validate_publication_at",
    "validate_publish_time",
    "validate_schedule",
]
