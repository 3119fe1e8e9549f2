"""The email fan-out's public services: freeze the audience, send in claimed batches,
pause/resume/cancel, preview and test sends. Callers (the adapter, tasks, admin views,
the e-zine) import them from here; each lives in the module that owns it.

Exactly one message per recipient:
- one Delivery row per (publication, subscriber) under a unique constraint, created when
  the audience is frozen (freezing twice inserts nothing): channels.email.audience;
- a batch claims pending rows with SELECT ... FOR UPDATE SKIP LOCKED (PostgreSQL; on
  SQLite the IMMEDIATE transaction serialises claims) and marks them "sending" with its
  own claim token, so two runs of the same task never share a row: channels.email.claims;
- each row is marked "sent" in its own commit at the moment its message is handed to
  the SMTP server, between the content and the end-of-data (channels.email.sentmarks),
  by the send loop (channels.email.fanout): a killed worker never causes a second copy.
  Its other claimed rows go back to pending once their lease (longer than the task's
  hard time limit) has expired.
"""

from .audience import resolve_audience, set_email_audience, start_email_send
from .claims import CLAIM_LEASE, claim_deliveries, finish_if_done, release_stale_claims
from .control import (
    active_send_ids_needing_workers,
    cancel_email_send,
    pause_email_send,
    resume_email_send,
    send_counts,
)
from .fanout import MAX_ATTEMPTS, PAUSE_CHECK_EVERY, BatchResult, send_next_batch
from .preview import SAMPLE_VALUES, preview_html, preview_rendered, send_test_email
from .sender import TransientSendError, build_frame, message_id_for, message_values, open_smtp
from .sentmarks import SentMarks
from .signals import email_send_started

__all__ = [
    "CLAIM_LEASE",
    "MAX_ATTEMPTS",
    "PAUSE_CHECK_EVERY",
    "SAMPLE_VALUES",
    "BatchResult",
    "SentMarks",
    "TransientSendError",
    "active_send_ids_needing_workers",
    "build_frame",
    "cancel_email_send",
    "claim_deliveries",
    "email_send_started",
    "finish_if_done",
    "message_id_for",
    "message_values",
    "open_smtp",
    "pause_email_send",
    "preview_html",
    "preview_rendered",
    "release_stale_claims",
    "resolve_audience",
    "resume_email_send",
    "send_counts",
    "send_next_batch",
    "send_test_email",
    "set_email_audience",
    "start_email_send",
]
