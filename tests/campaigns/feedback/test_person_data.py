"""The feedback provider of the customer record: timeline, open cases, last contact,
export and erasure (contact details and the person's words gone, counts kept)."""

import datetime

import pytest
from django.utils import timezone

from campaigns.audiences.models import Subscriber
from campaigns.feedback import services
from campaigns.feedback.models import Case, CaseEntry
from campaigns.people.registry import providers
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
DATA = {
    "category": "complaint",
    "name": "Zhang Wei",
    "email": "zhang.wei@example.org",
    "phone": "+86 21 5555 0101",
    "subject": "Refund for order 77",
    "message": "I was charged twice, my card ends 4242.",
    "order_reference": "SO-77",
}


@pytest.fixture
def provider():
    [found] = [p for p in providers() if p.name == "feedback"]
    return found


@pytest.fixture
def history():
    staff = UserFactory(username="agent", groups=["Marketers"])
    case = services.open_case(None, DATA, language="en")
    services.reply(case, staff, "Refunded, Zhang Wei: see your card ending 4242.")
    services.add_note(case, staff, "VIP customer")
    services.set_status(case, Case.Status.RESOLVED, staff)
    Case.objects.filter(pk=case.pk).update(escalated_at=timezone.now())
    CaseEntry.objects.create(case=case, kind="escalated", created_at=timezone.now())
    second = services.open_case(None, {**DATA, "subject": "Another"}, language="en")
    return Subscriber.objects.get(email="zhang.wei@example.org"), case, second, staff


def test_the_timeline_newest_first_without_internal_notes(provider, history):
    person, case, second, _staff = history
    entries = provider.timeline(person, None, 50)
    kinds = [e.kind for e in entries]
    assert sorted(kinds) == sorted(
        [
            "feedback.case_opened",
            "feedback.case_opened",
            "feedback.reply",
            "feedback.status",
            "feedback.status",  # new -> open on the reply, open -> resolved
            "feedback.escalated",
        ]
    )
    assert [e.at for e in entries] == sorted((e.at for e in entries), reverse=True)
    assert all(
        f"/admin/feedback/{case.pk}/" == e.url for e in entries if e.kind != "feedback.case_opened"
    )
    assert not any("VIP" in e.title + e.detail for e in entries)
    # Paging: strictly older than `before`, at most `limit`.
    older = provider.timeline(person, entries[1].at, 2)
    assert len(older) <= 2 and all(e.at < entries[1].at for e in older)


def test_open_cases_and_last_contact(provider, history):
    person, case, second, _staff = history
    assert provider.open_cases([person.pk]) == {person.pk: 1}
    reply_at = case.entries.get(kind="reply").created_at
    assert provider.last_contact([person.pk]) == {person.pk: reply_at}
    assert provider.open_cases([person.pk + 1000]) == {}


def test_export_holds_the_cases_and_public_thread(provider, history):
    import json

    person, case, _second, _staff = history
    data = provider.export(person)
    json.dumps(data)
    assert {c["reference"] for c in data["feedback_cases"]} == set(
        Case.objects.values_list("reference", flat=True)
    )
    texts = [m["text"] for m in data["feedback_messages"]]
    assert DATA["message"] in texts
    assert not any("VIP" in t for t in texts)


def test_erasure_leaves_no_personal_data_and_keeps_the_counts(provider, history):
    person, case, _second, _staff = history
    provider.erase(person)
    Subscriber.objects.filter(pk=person.pk).delete()
    assert Case.objects.count() == 2
    assert Case.objects.filter(status=Case.Status.RESOLVED).count() == 1
    for needle in ("zhang.wei", "Zhang Wei", "5555 0101", "4242", "SO-77", "Refund"):
        assert not Case.objects.filter(name__contains=needle).exists()
        for field in ("name", "email", "phone", "subject", "order_reference"):
            assert not Case.objects.filter(**{f"{field}__icontains": needle}).exists(), needle
        assert not CaseEntry.objects.filter(body__icontains=needle).exists(), needle
    assert CaseEntry.objects.filter(kind="escalated").count() == 1
    # The status link of an erased case opens nothing.
    with pytest.raises(services.CaseError):
        services.case_for_token(services.status_token(case))
    assert timezone.now() - Case.objects.get(pk=case.pk).opened_at < datetime.timedelta(hours=1)


def test_entries_sharing_a_time_are_paged_once_each_in_a_fixed_order(provider):
    """A reply writes its REPLY and STATUS entries at one time: paged by the timeline's
    cursor, each entry comes once, in the same order on every call (newest id first)."""
    from campaigns.people.timeline import person_timeline

    staff = UserFactory(username="agent", groups=["Marketers"])
    case = services.open_case(None, DATA, language="en")
    person = Subscriber.objects.get(email=DATA["email"])
    at = timezone.now() + datetime.timedelta(hours=1)
    # Ids and kinds interleaved, all at one time (several replies and status changes).
    kinds = ["reply", "status", "escalated", "reply", "status", "reply", "status"]
    made = [
        CaseEntry.objects.create(case=case, kind=kind, author=staff, created_at=at, body=str(n))
        for n, kind in enumerate(kinds)
    ]
    ours = [e for e in provider.timeline(person, None, 50) if e.at == at]
    assert [e.kind for e in ours] == [f"feedback.{k}" for k in reversed(kinds)]
    assert [e.detail for e in ours if e.kind == "feedback.reply"] == ["5", "3", "0"]
    assert provider.timeline(person, None, 50) == provider.timeline(person, None, 50)

    whole = person_timeline(person, None, limit=100).entries
    assert len([e for e in whole if e.at == at]) == len(made)
    for size in (1, 2, 3, 4):
        paged, cursor = [], None
        while True:
            page = person_timeline(person, cursor, limit=size)
            paged.extend(page.entries)
            if not page.older:
                break
            cursor = page.older
        assert paged == whole, size
