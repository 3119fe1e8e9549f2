"""The inbox over HTTP: the Feedback menu for Marketers and Service managers (nobody
else), the list's filters, the case page's actions (reply, note, assign, status), the
home panel of an assignee's cases due today or overdue."""

import datetime

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from campaigns.feedback import services
from campaigns.feedback.models import Case, CaseEntry
from campaigns.models import Notification
from content.roles import SERVICE_MANAGERS
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
INDEX = "/admin/feedback/"


def new_case(**extra):
    data = {
        "category": "complaint",
        "name": "Li Lei",
        "email": "li.lei@example.org",
        "subject": "Late delivery",
        "message": "Where is my parcel?",
        **extra,
    }
    return services.open_case(None, data, language="en")


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def marketer():
    return UserFactory(username="mara", groups=["Marketers"])


def test_the_menu_and_the_screens_are_for_marketers_and_service_managers(marketer):
    manager = UserFactory(username="sam", groups=[SERVICE_MANAGERS])
    editor = UserFactory(username="eddie", groups=["Editors"])
    case = new_case()
    for user in (marketer, manager):
        home = signed_in(user).get("/admin/").content.decode()
        assert INDEX in home
        assert signed_in(user).get(INDEX).status_code == 200
        assert signed_in(user).get(f"{INDEX}{case.pk}/").status_code == 200
    assert INDEX not in signed_in(editor).get("/admin/").content.decode()
    assert signed_in(editor).get(INDEX).status_code in (302, 403)
    assert signed_in(editor).get(f"{INDEX}{case.pk}/").status_code in (302, 403)
    posted = signed_in(editor).post(f"{INDEX}{case.pk}/", {"action": "note", "body": "x"})
    assert posted.status_code in (302, 403)
    assert not case.entries.filter(kind="note").exists()


def test_the_list_filters(marketer):
    a = new_case(subject="Broken cup")
    b = new_case(category="suggestion", subject="More colours")
    c = new_case(category="enquiry", subject="Opening hours")
    services.assign(a, marketer, marketer)
    services.set_status(c, Case.Status.RESOLVED, marketer)
    Case.objects.filter(pk=b.pk).update(due_at=timezone.now() - datetime.timedelta(hours=1))
    client = signed_in(marketer)

    def shown(query=""):
        html = client.get(INDEX + query).content.decode()
        return {x.subject for x in (a, b, c) if x.subject in html}

    assert shown() == {"Broken cup", "More colours"}  # not resolved, by default
    assert shown("?status=all") == {"Broken cup", "More colours", "Opening hours"}
    assert shown("?status=resolved") == {"Opening hours"}
    assert shown("?category=suggestion") == {"More colours"}
    assert shown(f"?assignee={marketer.pk}") == {"Broken cup"}
    assert shown("?assignee=none") == {"More colours"}
    assert shown("?overdue=1") == {"More colours"}
    assert shown(f"?q={a.reference}") == {"Broken cup"}


def test_reply_note_assign_and_status_from_the_case_page(
    marketer, django_capture_on_commit_callbacks
):
    agent = UserFactory(username="agent", groups=[SERVICE_MANAGERS])
    case = new_case()
    url = reverse("feedback_admin:case", args=[case.pk])
    client = signed_in(marketer)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"action": "reply", "body": "A new parcel is on its way."})
    assert response.status_code == 302
    [reply] = mail.outbox
    assert reply.to == ["li.lei@example.org"] and "A new parcel" in reply.body
    client.post(url, {"action": "note", "body": "Courier blamed."})
    client.post(url, {"action": "assign", "assignee": agent.pk})
    client.post(url, {"action": "status", "status": "resolved"})
    case.refresh_from_db()
    assert case.status == Case.Status.RESOLVED and case.resolved_at is not None
    assert case.assignee == agent
    kinds = list(case.entries.values_list("kind", flat=True))
    assert kinds == ["message", "reply", "status", "note", "assigned", "status"]
    assert Notification.objects.filter(user=agent).count() == 1  # told of the assignment
    html = client.get(url).content.decode()
    assert "Courier blamed." in html and "A new parcel is on its way." in html
    # Invalid input: no change, no 500.
    assert client.post(url, {"action": "status", "status": "bogus"}).status_code == 200
    assert client.post(url, {"action": "reply", "body": ""}).status_code == 200
    assert client.post(url, {"action": "assign", "assignee": "999999"}).status_code == 200
    assert case.entries.count() == 6


def test_the_home_panel_lists_an_assignees_cases_due_today_or_overdue(marketer):
    due_now = new_case(subject="Due soon")
    later = new_case(subject="Due next week")
    someone_elses = new_case(subject="Not mine")
    for case in (due_now, later):
        services.assign(case, marketer, marketer)
    Case.objects.filter(pk=due_now.pk).update(due_at=timezone.now() - datetime.timedelta(minutes=5))
    Case.objects.filter(pk=later.pk).update(due_at=timezone.now() + datetime.timedelta(days=7))
    Case.objects.filter(pk=someone_elses.pk).update(due_at=timezone.now())
    html = signed_in(marketer).get("/admin/").content.decode()
    assert 'data-home-panel="feedback-due"' in html
    assert "Due soon" in html and "Due next week" not in html and "Not mine" not in html
    other = UserFactory(username="other", groups=["Marketers"])
    assert 'data-home-panel="feedback-due"' not in signed_in(other).get("/admin/").content.decode()


def test_the_case_entry_kinds_the_person_sees():
    case = new_case()
    staff = UserFactory(username="s1", groups=["Marketers"])
    services.add_note(case, staff, "internal")
    services.reply(case, staff, "public")
    assert [e.kind for e in services.public_thread(case)] == [
        CaseEntry.Kind.MESSAGE,
        CaseEntry.Kind.REPLY,
        CaseEntry.Kind.STATUS,
    ]
