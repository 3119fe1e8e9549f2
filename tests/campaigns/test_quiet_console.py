"""A quiet console (issue 16, point 10): the every-second dispatcher and the sweeper say
nothing at INFO when idle and one line when they act; Celery's own routine lines about
the frequent ticks are dropped, its warnings and errors never."""

import datetime
import logging

import pytest
from django.utils import timezone

from campaigns import services, tasks
from campaigns.models import Publication

pytestmark = pytest.mark.django_db

TICK = "campaigns.dispatch_due_publications"


def info_lines(caplog):
    return [r for r in caplog.records if r.levelno >= logging.INFO]


def test_an_idle_dispatcher_tick_logs_nothing_at_info(caplog):
    with caplog.at_level(logging.INFO):
        assert tasks.dispatch_due_publications_task.apply().get() == 0
    assert info_lines(caplog) == []


def test_a_tick_that_claims_logs_one_line(make_pub, caplog):
    make_pub(-5)
    make_pub(-1)
    with caplog.at_level(logging.INFO):
        assert services.dispatch_due_publications() == 2
    (line,) = info_lines(caplog)
    assert line.getMessage() == "dispatcher claimed 2 due publication(s)"


def test_the_sweeper_is_quiet_unless_it_recovers_something(make_pub, caplog):
    with caplog.at_level(logging.INFO):
        services.sweep_stuck_publications(enqueue=lambda ids: None)
    assert info_lines(caplog) == []
    lost = make_pub(-1)
    long_ago = timezone.now() - datetime.timedelta(hours=1)
    Publication.objects.filter(pk=lost.pk).update(
        status=Publication.Status.QUEUED, queued_at=long_ago
    )
    with caplog.at_level(logging.INFO):
        services.sweep_stuck_publications(enqueue=lambda ids: None)
    (line,) = info_lines(caplog)
    assert line.getMessage() == "sweeper re-queued 1 and recovered 0 stuck publication(s)"


def test_celery_routine_lines_about_ticks_are_dropped_but_not_their_failures(caplog):
    # The frequent ticks come from the one beat schedule, not from a list kept here.
    assert {TICK, "analytics.tasks.drain_event_queue", "campaigns.sweep_stuck_publications"} <= (
        tasks.frequent_task_names()
    )
    assert "analytics.tasks.purge_old_salts" not in tasks.frequent_task_names()
    beat = logging.getLogger("celery.beat")
    trace = logging.getLogger("celery.app.trace")
    with caplog.at_level(logging.DEBUG):
        beat.info("Scheduler: Sending due task %s (%s)", "campaigns-dispatch", TICK)
        trace.info(
            "Task %(name)s[%(id)s] succeeded in %(runtime)ss",
            {"name": TICK, "id": "1", "runtime": 0.01},
        )
        beat.info("Scheduler: Sending due task %s (%s)", "purge", "analytics.tasks.purge_old_salts")
        trace.error(
            "Task %(name)s[%(id)s] raised unexpected: %(exc)s",
            {"name": TICK, "id": "2", "exc": "boom"},
        )
    assert [r.getMessage() for r in caplog.records] == [
        "Scheduler: Sending due task purge (analytics.tasks.purge_old_salts)",
        f"Task {TICK}[2] raised unexpected: boom",
    ]
