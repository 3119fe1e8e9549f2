"""The change log of a person's lists, tags and suppression: each service writes its
entry once, an import one per person, and the timeline shows them newest first."""

import datetime

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone, translation

from campaigns.audiences import importing
from campaigns.audiences import services as audiences
from campaigns.audiences.models import (
    AudienceChange,
    ImportJob,
    Subscriber,
    Subscription,
    Suppression,
)
from campaigns.people.timeline import person_timeline
from tests.campaigns.audiences.factories import MailingListFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def weekly(db):
    return MailingListFactory(
        slug="weekly", name="Weekly news", double_opt_in=False, consent_text="Yes, mail me weekly."
    )


def kinds(subscriber):
    return list(
        AudienceChange.objects.filter(subscriber=subscriber)
        .order_by("at", "id")
        .values_list("kind", flat=True)
    )


def audience_titles(subscriber):
    entries = person_timeline(subscriber).entries
    return [e for e in entries if e.kind.startswith("audiences.")]


def test_subscribing_twice_writes_one_entry(weekly):
    audiences.subscribe("li@example.cn", weekly, method="form")
    audiences.subscribe("li@example.cn", weekly, method="form")
    li = Subscriber.objects.get(email="li@example.cn")
    assert kinds(li) == ["subscribed"]
    change = AudienceChange.objects.get(subscriber=li)
    assert change.mailing_list == weekly
    assert change.detail["source"] == "form"
    assert change.detail["consent_text"] == "Yes, mail me weekly."
    assert "li@example.cn" not in str(change.detail)


def test_double_opt_in_logs_subscribed_then_confirmed_once(weekly):
    weekly.double_opt_in = True
    weekly.save()
    subscription = audiences.subscribe("li@example.cn", weekly, method="form")
    assert len(mail.outbox) == 1
    token = audiences.confirmation_token(subscription)
    audiences.confirm_subscription(token)
    audiences.confirm_subscription(token)
    assert kinds(subscription.subscriber) == ["subscribed", "confirmed"]


def test_unsubscribe_then_resubscribe_keeps_both_and_the_timeline_shows_them_in_order(weekly):
    first = audiences.subscribe("li@example.cn", weekly, method="form")
    li = first.subscriber
    first_consent = first.consent_at
    assert audiences.unsubscribe(li, weekly) == 1
    assert audiences.unsubscribe(li, weekly) == 0
    audiences.subscribe("li@example.cn", weekly, method="admin", consent_text="Asked by phone")
    assert kinds(li) == ["subscribed", "unsubscribed", "resubscribed"]
    shown = audience_titles(li)
    # newest first; the earlier consent is kept although the Subscription row was renewed
    assert [e.kind for e in shown[:3]] == [
        "audiences.resubscribed",
        "audiences.unsubscribed",
        "audiences.subscribed",
    ]
    assert shown[2].at == first_consent
    assert shown[0].title == (
        "Subscribed again to Weekly news (added by staff, consent text “Asked by phone”)"
    )
    assert shown[2].title == (
        "Subscribed to Weekly news (form, consent text “Yes, mail me weekly.”)"
    )
    # no entry made up from the Subscription row beside the logged ones
    assert sum(e.kind == "audiences.subscribed" for e in shown) == 1
    times = [e.at for e in person_timeline(li).entries]
    assert times == sorted(times, reverse=True)


def test_unsubscribe_from_everything_logs_each_list_and_the_suppression_once(weekly):
    other = MailingListFactory(slug="offers", name="Offers", double_opt_in=False)
    audiences.subscribe("li@example.cn", weekly, method="form")
    audiences.subscribe("li@example.cn", other, method="form")
    li = Subscriber.objects.get(email="li@example.cn")
    audiences.unsubscribe(li, everything=True)
    audiences.unsubscribe(li, everything=True)
    assert sorted(kinds(li)) == sorted(
        ["subscribed", "subscribed", "unsubscribed", "unsubscribed", "suppressed"]
    )
    shown = audience_titles(li)
    assert sum(e.kind == "audiences.suppressed" for e in shown) == 1


def test_preference_centre_changes_are_logged_with_their_source(weekly):
    audiences.subscribe("li@example.cn", weekly, method="form")
    li = Subscriber.objects.get(email="li@example.cn")
    audiences.update_preferences(li, list_ids=[], language="en")
    audiences.update_preferences(li, list_ids=[weekly.pk], language="en")
    audiences.update_preferences(li, list_ids=[weekly.pk], language="en")
    assert kinds(li) == ["subscribed", "unsubscribed", "resubscribed"]
    last = AudienceChange.objects.filter(subscriber=li).latest("at", "id")
    assert last.detail["source"] == "preferences"


def test_tag_changes_are_logged_and_shown_translated(weekly):
    li = audiences.get_or_create_subscriber("li@example.cn", tags=["old"])
    audiences.set_tags(li, ["VIP", "上海", "old"])
    audiences.set_tags(li, ["vip", "上海", "old"])  # nothing changed: nothing logged
    audiences.set_tags(li, ["vip"])
    assert kinds(li) == ["tags_added", "tags_removed"]
    titles = [e.title for e in audience_titles(li)]
    assert titles[:2] == ["Tags removed: old, 上海", "Tags added: vip, 上海"]
    with translation.override("zh-hans"):
        assert all(e.title for e in audience_titles(li))


def test_the_log_goes_with_the_subscriber(weekly):
    audiences.subscribe("li@example.cn", weekly, method="form")
    li = Subscriber.objects.get(email="li@example.cn")
    assert AudienceChange.objects.filter(subscriber=li).exists()
    li.delete()
    assert not AudienceChange.objects.exists()


def test_a_subscription_from_before_the_log_is_still_shown(weekly):
    li = audiences.get_or_create_subscriber("li@example.cn")
    old = timezone.now() - datetime.timedelta(days=400)
    Subscription.objects.create(
        subscriber=li,
        mailing_list=weekly,
        status="subscribed",
        consent_at=old,
        consent_method="import",
        confirmed_at=old,
    )
    shown = audience_titles(li)
    assert [e.kind for e in shown if e.at == old] == ["audiences.subscribed", "audiences.confirmed"]


def test_an_import_writes_one_entry_per_person_it_subscribed(weekly, import_path):
    audiences.subscribe("old@example.cn", weekly, method="form")
    data = (
        b"email,name,tags\n"
        b"a@example.cn,A,vip\nb@example.cn,B,\nA@example.cn,A again,\nold@example.cn,Old,\n"
    )
    job = ImportJob.objects.create(
        mailing_list=weekly,
        file=data,
        encoding="auto",
        mapping=importing.preview_csv(data, "auto")["mapping"],
        consent_basis="Trade fair 2026",
    )
    job = importing.check_import(job.pk)
    assert importing.confirm_import(job)
    job = importing.run_import(job.pk)
    assert job.status == ImportJob.Status.DONE
    logged = AudienceChange.objects.filter(detail__import=job.pk)
    assert sorted(logged.values_list("subscriber__email", flat=True)) == [
        "a@example.cn",
        "b@example.cn",
    ]
    assert set(logged.values_list("kind", flat=True)) == {"subscribed"}
    a = Subscriber.objects.get(email="a@example.cn")
    assert kinds(a) == ["subscribed"]
    (entry,) = [e for e in audience_titles(a) if e.kind == "audiences.subscribed"]
    assert entry.title == f"Subscribed to Weekly news (import #{job.pk})"
    assert entry.detail == "Trade fair 2026"
    # the person already on the list got nothing from the import
    assert kinds(Subscriber.objects.get(email="old@example.cn")) == ["subscribed"]


def test_the_subscriber_form_saves_tags_through_the_log(client):
    mia = UserFactory(username="mia", groups=["Marketers"])
    client.force_login(mia)
    li = audiences.get_or_create_subscriber("li@example.cn", tags=["old"])
    edit = reverse("subscriber:edit", args=[li.pk])
    assert 'value="old"' in client.get(edit).content.decode()
    form = {
        "email": li.email,
        "name": "",
        "language": "en",
        "timezone": "UTC",
        "attributes": "",
        "tags": "VIP, 上海",
    }
    assert client.post(edit, form).status_code == 302
    assert client.post(edit, form).status_code == 302  # the same again: nothing new
    li.refresh_from_db()
    assert li.tag_list == ["vip", "上海"]
    changes = AudienceChange.objects.filter(subscriber=li).order_by("kind")
    assert [(c.kind, c.detail["tags"], c.actor) for c in changes] == [
        ("tags_added", ["vip", "上海"], mia),
        ("tags_removed", ["old"], mia),
    ]


def test_staff_suppressing_and_unsuppressing_in_the_admin_is_logged(client):
    mia = UserFactory(username="mia", groups=["Marketers"])
    client.force_login(mia)
    li = audiences.get_or_create_subscriber("li@example.cn")
    response = client.post(
        reverse("suppression:add"),
        {"email": "LI@example.cn", "reason": "manual", "detail": "asked by phone"},
    )
    assert response.status_code == 302
    suppression = Suppression.objects.get()
    li.refresh_from_db()
    assert li.suppressed
    response = client.post(reverse("suppression:delete", args=[suppression.pk]))
    assert response.status_code == 302
    assert not Suppression.objects.exists()
    assert [(c.kind, c.actor) for c in AudienceChange.objects.order_by("at", "id")] == [
        ("suppressed", mia),
        ("unsuppressed", mia),
    ]
    titles = [e.title for e in audience_titles(li)]
    assert titles[:2] == [
        "Taken off the suppression list",
        "Put on the suppression list: Added by staff",
    ]
