"""Escalation: an overdue unresolved case is told to the managers' group once, in each
member's language, linking to the case; never again, whoever runs the tick and how
often. 2026-12-04 is a Friday; the team works Monday to Friday, 09:00-18:00, Shanghai."""

import datetime
import threading
import zoneinfo

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core import mail
from django.db import connection
from wagtail.users.models import UserProfile

from campaigns.feedback import services
from campaigns.feedback.models import Case, CaseEntry, FeedbackSettings
from campaigns.feedback.tasks import escalate_overdue_cases
from campaigns.models import Notification
from content.roles import SERVICE_MANAGERS
from tests.factories import UserFactory

SH = zoneinfo.ZoneInfo("Asia/Shanghai")
DATA = {
    "category": "complaint",
    "name": "Li Lei",
    "email": "li.lei@example.org",
    "subject": "Late delivery",
    "message": "Where is my parcel?",
}


def at(*args):
    return datetime.datetime(*args, tzinfo=SH)


def open_at(moment, **extra):
    with time_machine.travel(moment, tick=False):
        return services.open_case(None, {**DATA, **extra}, language="en")


@pytest.fixture
def team(db):
    s = FeedbackSettings.load()
    s.time_zone = "Asia/Shanghai"
    s.save()
    manager = UserFactory(username="boss", groups=[SERVICE_MANAGERS])
    zh_manager = UserFactory(username="laoban", groups=[SERVICE_MANAGERS])
    profile = UserProfile.get_for_user(zh_manager)
    profile.preferred_language = "zh-hans"
    profile.save()
    agent = UserFactory(username="agent", groups=["Marketers"])
    return manager, zh_manager, agent


@pytest.mark.django_db
def test_a_friday_case_escalates_once_on_monday_after_it_falls_due(
    team, settings, django_capture_on_commit_callbacks
):
    manager, zh_manager, agent = team
    case = open_at(at(2026, 12, 4, 16, 0))
    assert case.due_at == at(2026, 12, 7, 16, 0)
    services.assign(case, manager, agent)
    for moment in (at(2026, 12, 5, 12, 0), at(2026, 12, 6, 23, 59), at(2026, 12, 7, 15, 59)):
        assert services.escalate_overdue(moment) == []
    assert Notification.objects.filter(user__in=[manager, zh_manager]).count() == 0

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.escalate_overdue(at(2026, 12, 7, 16, 1)) == [case.pk]
    for moment in (at(2026, 12, 7, 16, 2), at(2026, 12, 8, 9, 0), at(2026, 12, 31, 9, 0)):
        assert services.escalate_overdue(moment) == []
    case.refresh_from_db()
    assert case.escalated_at == at(2026, 12, 7, 16, 1)
    assert case.entries.filter(kind=CaseEntry.Kind.ESCALATED).count() == 1
    notes = {n.user.username: n.message for n in Notification.objects.filter(level="warning")}
    assert set(notes) == {"boss", "laoban"}
    assert case.reference in notes["boss"] and "agent" in notes["boss"]
    assert f"/admin/feedback/{case.pk}/" in notes["boss"]
    # Each in the member's language (the catalogue's words, or at least the language's
    # own subject line, which exists in the catalogue).
    by_address = {m.to[0]: m for m in mail.outbox}
    assert by_address["laoban@example.com"].extra_headers["Content-Language"] == "zh-hans"
    assert (
        by_address["boss@example.com"].extra_headers["Content-Language"] == settings.LANGUAGE_CODE
    )


@pytest.mark.django_db
def test_with_no_assignee_the_group_still_hears_and_resolved_cases_never(team):
    manager, zh_manager, agent = team
    orphan = open_at(at(2026, 12, 1, 10, 0))
    solved = open_at(at(2026, 12, 1, 10, 0))
    services.set_status(solved, Case.Status.RESOLVED, agent)
    assert services.escalate_overdue(at(2026, 12, 2, 10, 30)) == [orphan.pk]
    assert "nobody" in Notification.objects.filter(user=manager).get().message


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["person", "staff"])
def test_a_reopened_case_is_due_again_and_escalates_again_once(team, who):
    manager, zh_manager, agent = team
    case = open_at(at(2026, 12, 1, 10, 0))  # due Wednesday 10:00
    assert services.escalate_overdue(at(2026, 12, 2, 10, 30)) == [case.pk]
    with time_machine.travel(at(2026, 12, 2, 11, 0), tick=False):
        services.set_status(case, Case.Status.RESOLVED, agent)
    # A week later the person writes again (or staff reopen it): due a working day on.
    with time_machine.travel(at(2026, 12, 9, 15, 0), tick=False):
        if who == "person":
            services.add_person_message(case, "It broke again.")
        else:
            services.set_status(case, Case.Status.OPEN, agent)
    case.refresh_from_db()
    assert case.status == Case.Status.OPEN
    assert (case.due_at, case.escalated_at) == (at(2026, 12, 10, 15, 0), None)
    assert services.escalate_overdue(at(2026, 12, 10, 14, 59)) == []
    assert services.escalate_overdue(at(2026, 12, 10, 15, 1)) == [case.pk]
    assert services.escalate_overdue(at(2026, 12, 11, 9, 0)) == []
    assert case.entries.filter(kind=CaseEntry.Kind.ESCALATED).count() == 2
    # A first reply (new -> open) keeps the first due time.
    fresh = open_at(at(2026, 12, 1, 10, 0))
    with time_machine.travel(at(2026, 12, 1, 17, 0), tick=False):
        services.reply(fresh, agent, "On it.")
    fresh.refresh_from_db()
    assert fresh.status == Case.Status.OPEN and fresh.due_at == at(2026, 12, 2, 10, 0)


@pytest.mark.django_db
def test_the_beat_task_escalates_and_is_on_the_schedule(team, settings):
    entry = settings.CELERY_BEAT_SCHEDULE["feedback-escalate-overdue"]
    assert entry["task"] == escalate_overdue_cases.name and entry["schedule"] == 60.0
    case = open_at(at(2026, 12, 1, 10, 0))
    with time_machine.travel(at(2026, 12, 3, 10, 0), tick=False):
        assert escalate_overdue_cases() == 1
        assert escalate_overdue_cases() == 0  # the tick run twice
    assert Case.objects.get(pk=case.pk).escalated_at is not None
    assert Notification.objects.filter(user=team[0]).count() == 1


@pytest.mark.django_db
def test_the_escalation_group_is_a_setting(team, settings):
    other = Group.objects.create(name="Night shift")
    night = UserFactory(username="night", groups=["Night shift"])
    settings.FEEDBACK_ESCALATION_GROUP = other.name
    open_at(at(2026, 12, 1, 10, 0))
    services.escalate_overdue(at(2026, 12, 3, 10, 0))
    assert list(Notification.objects.values_list("user__username", flat=True)) == [night.username]


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_escalate_each_case_once(postgres, team):
    cases = [open_at(at(2026, 12, 1, 10, i)) for i in range(20)]
    start = threading.Barrier(2)
    results, errors = [], []

    def worker():
        try:
            start.wait()
            results.append(services.escalate_overdue(at(2026, 12, 3, 10, 0)))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    escalated = sorted(results[0] + results[1])
    assert escalated == sorted(c.pk for c in cases)  # every case, none twice
    assert CaseEntry.objects.filter(kind=CaseEntry.Kind.ESCALATED).count() == 20
    assert Notification.objects.filter(user=team[0]).count() == 20
    assert Notification.objects.filter(user=team[1]).count() == 20
