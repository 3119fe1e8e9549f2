"""How far a send has got: the figures behind the send panel's progress bar, its JSON
endpoint and the Sends list, defined here once.

Definitions (a "row" is one Delivery, one per recipient):

- **total**: the rows frozen for the send (its audience when sending started).
- **sent**: rows handed to the mail server. **failed**: rows the server refused for
  good or that ran out of attempts. **skipped**: rows not sent on purpose (the
  recipient unsubscribed or was suppressed before their turn, or the send was
  cancelled). **pending**: rows still to go, those in a batch being sent included.
- **percent**: (sent + failed + skipped) / total, in [0, 100]; a send with no rows is
  at 100 once finished and at 0 before.
- **rate** (messages per minute): the rows marked sent during the recent window
  (`RATE_WINDOW`, five minutes, or less when the send began less long ago), divided by
  that window's length in minutes. A recent window, not the average since the start,
  so a pause or a slow server shows at once (0 when nothing went out in the window).
  None when the send is not sending.
- **ETA**: pending / rate, counted from now; None when nothing is sending (paused,
  finished, cancelled, not started) or nothing was sent in the window (no rate to go by).
"""

from __future__ import annotations

import datetime
from dataclasses import asdict, dataclass

from django.db.models import Count
from django.utils import timezone

from .models import Delivery, EmailSend

RATE_WINDOW = datetime.timedelta(minutes=5)
# The shortest window a rate is measured over: one message a second after the start
# must not read as an absurd thousands-per-minute figure.
MIN_RATE_WINDOW = datetime.timedelta(seconds=10)


@dataclass(frozen=True)
class SendProgress:
    status: str
    total: int
    sent: int
    failed: int
    skipped: int
    pending: int
    percent: int
    rate_per_minute: float | None
    eta_seconds: int | None
    eta_at: datetime.datetime | None

    @property
    def is_running(self) -> bool:
        return self.status == EmailSend.Status.SENDING

    @property
    def done(self) -> int:
        return self.sent + self.failed + self.skipped

    def as_json(self) -> dict:
        data = asdict(self)
        data["eta_at"] = self.eta_at.isoformat() if self.eta_at else None
        data["running"] = self.is_running
        return data


def send_progress(send: EmailSend, now: datetime.datetime | None = None) -> SendProgress:
    """The figures of one send, as the module docstring defines them."""
    now = now or timezone.now()
    counts = dict.fromkeys(Delivery.Status.values, 0)
    rows = Delivery.objects.filter(publication_id=send.publication_id)
    for row in rows.values("status").annotate(n=Count("pk")):
        counts[row["status"]] = row["n"]
    pending = counts[Delivery.Status.PENDING] + counts[Delivery.Status.SENDING]
    sent, failed, skipped = (
        counts[Delivery.Status.SENT],
        counts[Delivery.Status.FAILED],
        counts[Delivery.Status.SKIPPED],
    )
    total = pending + sent + failed + skipped
    rate = sending_rate(send, now) if send.status == EmailSend.Status.SENDING else None
    eta_seconds = eta_at = None
    if rate and pending:
        eta_seconds = round(pending / rate * 60)
        eta_at = now + datetime.timedelta(seconds=eta_seconds)
    return SendProgress(
        status=send.status,
        total=total,
        sent=sent,
        failed=failed,
        skipped=skipped,
        pending=pending,
        percent=percent_done(sent + failed + skipped, total, send.status),
        rate_per_minute=rate,
        eta_seconds=eta_seconds,
        eta_at=eta_at,
    )


def percent_done(done: int, total: int, status: str) -> int:
    """Whole percent of rows dealt with, never outside [0, 100]; rounded down so a send
    shows 100 only when every row is done."""
    if total <= 0:
        return 100 if status in (EmailSend.Status.FINISHED, EmailSend.Status.CANCELLED) else 0
    return max(0, min(100, done * 100 // total))


def sending_rate(send: EmailSend, now: datetime.datetime) -> float:
    """Messages per minute over the recent window (see the module docstring)."""
    started = send.frozen_at or now
    window = min(RATE_WINDOW, max(now - started, MIN_RATE_WINDOW))
    recent = Delivery.objects.filter(
        publication_id=send.publication_id,
        status=Delivery.Status.SENT,
        sent_at__gt=now - window,
        sent_at__lte=now,
    ).count()
    return round(recent / (window.total_seconds() / 60), 1)
