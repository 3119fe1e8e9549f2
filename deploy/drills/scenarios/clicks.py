"""The click drill: restart Redis during a burst of clicks on a tracked link. Counts the
HTTP answers the clients got against the events stored, per click."""

from __future__ import annotations

import collections
import threading
import time

import httpx

from ..infra import DrillError, wait_for
from .base import Context, Row, beat_entry_for, missing, pending_row
from .fixtures import drill_campaign

CLICKS_NEEDS = (
    "analytics.links.tracked_url",
    "analytics.draining.drain_event_queue",
    "analytics.models.Event",
    "analytics.models.TrackedLink",
)


def _clicks_missing() -> list[str]:
    absent = missing(*CLICKS_NEEDS)
    if not absent and not beat_entry_for("drain"):
        absent.append("a beat entry for the analytics drain task")
    return absent


def _drill_link(ctx: Context):
    """A tracked link in a campaign of its own: (its code, its TrackedLink row)."""
    from analytics.links import tracked_url
    from analytics.models import TrackedLink

    url = tracked_url(
        f"https://example.com/drill/{ctx.run_id}/{ctx.broker_name}",
        campaign=drill_campaign("clicks"),
        channel="blog",
        medium="drill",
    )
    code = url.rstrip("/").rsplit("/", 1)[1]
    return code, TrackedLink.objects.get(code=code)


class ClickBurst:
    """`n` clicks on /t/<code>, shared among `threads` clients. Every click carries its
    own id (`prefix` plus a number) in the User-Agent, which the event stores: the count
    is per click (this one was acknowledged, is it stored exactly once?)."""

    def __init__(self, port: int, code: str, prefix: str, n: int, threads: int):
        self.port, self.code, self.prefix = port, code, prefix
        self.acked: set[str] = set()  # got a redirect
        self.failed: set[str] = set()  # got an error or no answer
        self._lock = threading.Lock()
        shares = [n // threads + (1 if i < n % threads else 0) for i in range(threads)]
        self._pool = [
            threading.Thread(target=self._click, args=(i, c)) for i, c in enumerate(shares)
        ]

    def start(self):
        for t in self._pool:
            t.start()

    def join(self):
        for t in self._pool:
            t.join()

    def sent(self) -> int:
        with self._lock:
            return len(self.acked) + len(self.failed)

    def _click(self, worker_no: int, count: int):
        with httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=10) as client:
            for i in range(count):
                click_id = f"{self.prefix} click-{worker_no}-{i}"
                try:
                    r = client.get(f"/t/{self.code}", headers={"User-Agent": click_id})
                    ok = r.status_code == 302
                except httpx.HTTPError:
                    ok = False
                with self._lock:
                    (self.acked if ok else self.failed).add(click_id)


def _recorded_clicks(link, prefix: str) -> collections.Counter:
    """How many times each click of this burst is stored, by click id."""
    from analytics.models import Event

    return collections.Counter(
        Event.objects.filter(
            kind="click", link_id=link.pk, user_agent__startswith=prefix
        ).values_list("user_agent", flat=True)
    )


def _restart_redis_mid_burst(ctx: Context, burst: ClickBurst, n: int, row: Row) -> float:
    """Restart Redis once a third of the clicks are sent; returns when the fault began."""
    wait_for(lambda: burst.sent() >= n // 3, 120, interval=0.05, what="a third of the clicks")
    fault, before = time.monotonic(), burst.sent()
    row.extra["redis_down_s"] = round(ctx.redis.restart(down_seconds=2), 1)
    # Clicks answered while Redis was stopped or starting: the fallback path.
    row.extra["clicks_during_restart"] = burst.sent() - before
    return fault


def _wait_until_recorded(link, burst: ClickBurst, row: Row, fault: float):
    try:
        wait_for(
            lambda: all(_recorded_clicks(link, burst.prefix)[c] for c in burst.acked),
            90,
            interval=0.5,
            what="every acknowledged click to be recorded",
        )
        row.recover_s = round(time.monotonic() - fault, 1)
        time.sleep(3)  # a late duplicate (a batch drained twice) would be stored now
    except DrillError as exc:
        row.note = str(exc)


def _count_clicks(row: Row, burst: ClickBurst, counts: collections.Counter, n: int):
    row.expected = len(burst.acked)
    row.received = sum(counts[c] for c in burst.acked)
    row.duplicates = sum(max(times - 1, 0) for times in counts.values())
    row.lost = sum(1 for c in burst.acked if not counts[c])
    row.extra["sent"] = n
    if burst.failed:
        # A click that got no redirect is not acknowledged: it may or may not be stored.
        row.extra["no_redirect"] = len(burst.failed)
        row.extra["no_redirect_stored"] = sum(1 for c in burst.failed if counts[c])
    row.status = "PASS" if not row.duplicates and not row.lost else "FAIL"


def drill_redis_restart_clicks(ctx: Context, n: int = 1500, threads: int = 8) -> Row:
    """Restart Redis during a burst of clicks on a tracked link: every click the client
    got a redirect for is recorded (none lost, none twice)."""
    row = Row("redis-restart-clicks", ctx.broker_name)
    if absent := _clicks_missing():
        return pending_row(row.drill, ctx.broker_name, absent)
    code, link = _drill_link(ctx)
    ctx.worker("track1")
    ctx.beat()
    _web, port = ctx.web()
    burst = ClickBurst(port, code, f"Mozilla/5.0 (drill {ctx.run_id})", n, threads)
    burst.start()
    fault = _restart_redis_mid_burst(ctx, burst, n, row)
    burst.join()
    _wait_until_recorded(link, burst, row, fault)
    _count_clicks(row, burst, _recorded_clicks(link, burst.prefix), n)
    return row
