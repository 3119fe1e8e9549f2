"""The fault drills. Each builds its own rows, starts real worker/beat/web processes,
injects one fault, waits for the system to finish, and counts outside our database
(at the SMTP sink, at the loopback channel, or the HTTP answers the clients got).

A drill whose code under test has not landed yet is reported PENDING with what is
missing (see `missing`); it is never faked.

base.py holds what every drill shares (Row, Context), fixtures.py the rows they build;
one module per kind of drill: publishing.py, emails.py, clicks.py. DRILLS below is the
registry run.py walks, in the order the drills run.
"""

from __future__ import annotations

from .base import Context, Row, beat_entry_for, missing, pending_row
from .clicks import drill_redis_restart_clicks
from .emails import drill_kill9_send, drill_redis_restart_send
from .publishing import drill_blog_burst_lost_answers, drill_pg_restart_dispatch, drill_two_beats

DRILLS = {
    "kill9-send": drill_kill9_send,
    "redis-restart-send": drill_redis_restart_send,
    "redis-restart-clicks": drill_redis_restart_clicks,
    "pg-restart-dispatch": drill_pg_restart_dispatch,
    "two-beats": drill_two_beats,
    "blog-burst-lost-answers": drill_blog_burst_lost_answers,
}

__all__ = [
    "DRILLS",
    "Context",
    "Row",
    "beat_entry_for",
    "drill_blog_burst_lost_answers",
    "drill_kill9_send",
    "drill_pg_restart_dispatch",
    "drill_redis_restart_clicks",
    "drill_redis_restart_send",
    "drill_two_beats",
    "missing",
    "pending_row",
]
