"""Erasure (issue 21, point 5): after `rights.erase` no table holds the person's
address (nor its local part), name or phone, checked in a pg_dump of the test database
on PostgreSQL and by reading every table's every column elsewhere; the dashboards, the
goal totals and the send's figures are the same before and after; the address is kept
only as a keyed hash on the suppression list, so the person is never mailed again:
refused by the subscribe service and form, a landing page's opt-in, a CSV import (both
paths) and a send."""

import subprocess

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from wagtail.log_actions import log

from analytics.links import get_or_create_tracked_link
from analytics.models import Event
from analytics.tokens import message_token
from campaigns.audiences import erased
from campaigns.audiences import services as audiences
from campaigns.audiences.models import ImportJob, MailingList, Subscriber, Subscription, Suppression
from campaigns.feedback import services as feedback
from campaigns.leads.models import LeadSubmission
from campaigns.people import key_accounts, notes, rights
from campaigns.people.models import DataRightsRequest
from campaigns.surveys import services as surveys
from channels.email.models import Delivery
from tests.campaigns.leads.conftest import VALID
from tests.campaigns.surveys.conftest import make_nps, publication_of
from tests.factories import PublicationFactory, UserFactory, make_email_issue

from .conftest import (
    COMPANY,
    EMAIL,
    FIREFOX,
    LOCAL_PART,
    NAME,
    PHONE,
    csv_of,
    drain,
    figures,
    post_landing,
    publish,
    run_import,
)

NEEDLES = [EMAIL, LOCAL_PART, NAME, PHONE, COMPANY]


def text_in_every_table() -> str:
    """Every row of every table, as text (bytes decoded), lower case."""
    parts = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        value = bytes(value).decode("utf-8", errors="replace")
                    parts.append(str(value))
    return "\n".join(parts).lower()


def found(haystack: str) -> list[str]:
    """The needles in `haystack`, as text or as the hex pg_dump writes binary columns in
    (an import's file)."""
    return [
        n
        for n in NEEDLES
        if n.lower() in haystack
        or n.lower().encode().hex() in haystack
        or n.encode().hex() in haystack
    ]


def pg_dump() -> str:
    settings = connection.settings_dict
    command = ["pg_dump", "--data-only", "--no-owner", "--dbname", settings["NAME"]]
    if settings.get("HOST"):
        command += ["--host", settings["HOST"]]
    if settings.get("PORT"):
        command += ["--port", str(settings["PORT"])]
    if settings.get("USER"):
        command += ["--username", settings["USER"]]
    env = {"PGPASSWORD": settings.get("PASSWORD") or "", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(command, capture_output=True, env=env, timeout=120, check=True)
    return done.stdout.decode("utf-8", errors="replace").lower()


def the_record_too(world, staff) -> None:
    """What the customer record adds about the person: a staff note naming them, a key
    account, a tag change, an NPS answer with a comment, a feedback case in their words."""
    person = world["person"]
    notes.add_note(person, staff, f"Called {NAME} on {PHONE}")
    key_accounts.mark(person, staff)
    audiences.set_tags(person, ["vip"], actor=staff)
    survey = make_nps(world["landing"].get_parent().specific, slug="how-did-we-do")
    token = message_token(publication_of(survey).pk, audiences.recipient_key(person.pk))
    recipient = surveys.recipient_for(survey, token)
    assert surveys.record_nps(survey, recipient, 3, comment=f"{NAME} here, call {PHONE}")
    feedback.open_case(
        None,
        {
            "category": "complaint",
            "email": EMAIL,
            "name": NAME,
            "phone": PHONE,
            "subject": f"From {NAME}",
            "message": f"Reach me at {EMAIL} or {PHONE}",
        },
    )


@pytest.mark.django_db(transaction=True)
def test_erasure_leaves_no_personal_data_and_the_dashboards_their_totals(world):
    the_record_too(world, UserFactory(username="owner"))
    before = figures(world)
    assert (before["campaign"]["unique_clickers"], before["campaign"]["unique_opens"]) == (2, 2)
    assert before["campaign"]["conversions"] == 1 and before["send"][1] == 5
    everything = text_in_every_table()
    assert found(everything) == NEEDLES  # the check can find each of them
    if connection.vendor == "postgresql":
        assert found(pg_dump()) == NEEDLES

    admin = UserFactory(username="dpo", is_superuser=True)
    # Staff edited them in the admin: Wagtail's log names the subscriber by address.
    log(instance=world["person"], action="wagtail.edit", user=admin)
    entry = rights.erase(world["person"], admin)

    assert found(text_in_every_table()) == []
    if connection.vendor == "postgresql":
        # Committed data as another connection sees it: the whole database, data only.
        assert found(pg_dump()) == []
    assert figures(world) == before
    assert not Subscriber.objects.filter(email__iexact=EMAIL).exists()
    assert Suppression.objects.filter(
        email=erased.erased_key(EMAIL), reason=Suppression.Reason.ERASED
    ).exists()
    assert entry.action == DataRightsRequest.Action.ERASE
    assert entry.person_key == erased.erased_key(EMAIL) and entry.requested_by == admin
    # The rows counts need are kept, without the person.
    assert Delivery.objects.filter(publication=world["publication"]).count() == 5
    assert LeadSubmission.objects.filter(page=world["landing"]).count() == 1
    assert LeadSubmission.objects.get().form_data == {}


@pytest.fixture
def erased_person(world):
    rights.erase(world["person"])
    return world


def test_the_key_is_keyed_not_a_plain_digest(settings):
    settings.AUDIENCES_ERASURE_KEY = "one"
    first = erased.erased_key("A@Example.org")
    assert first == erased.erased_key(" a@example.ORG ")
    settings.AUDIENCES_ERASURE_KEY = "two"
    assert erased.erased_key("a@example.org") != first
    assert "a@example.org" not in first


@pytest.mark.django_db
def test_an_erased_address_is_refused_by_the_subscribe_service(erased_person):
    assert audiences.is_suppressed(EMAIL.upper())
    with pytest.raises(audiences.AudienceError):
        audiences.subscribe(
            EMAIL, erased_person["list"], method=Subscription.Method.IMPORT, consent_basis="x"
        )
    assert not Subscriber.objects.filter(email__iexact=EMAIL).exists()


@pytest.mark.django_db
def test_the_public_subscribe_form_does_not_subscribe_an_erased_address(
    erased_person, settings, monkeypatch
):
    from config.celery import app

    monkeypatch.setattr(app.conf, "task_always_eager", True)
    mailing_list = erased_person["list"]
    MailingList.objects.filter(pk=mailing_list.pk).update(is_public=True)
    for address in (EMAIL, "control@example.net"):
        response = Client(REMOTE_ADDR="198.51.100.20").post(
            f"/subscribe/{mailing_list.slug}/", {"email": address, "name": NAME}
        )
        assert response.status_code == 200
    assert Subscription.objects.filter(subscriber__email="control@example.net").exists()
    assert not Subscription.objects.filter(subscriber__email__iexact=EMAIL).exists()


@pytest.mark.django_db
def test_a_landing_page_opt_in_does_not_subscribe_an_erased_address(erased_person, monkeypatch):
    from config.celery import app

    monkeypatch.setattr(app.conf, "task_always_eager", True)
    answers = {**VALID, "email": EMAIL, "full_name": "Someone", "phone": ""}
    # The opt-in box of the page's list (campaigns.leads.forms.SUBSCRIBE_FIELD).
    from campaigns.leads.forms import SUBSCRIBE_FIELD

    answers[SUBSCRIBE_FIELD] = "on"
    assert post_landing(answers, ip="198.51.100.21").status_code == 200
    control = {**answers, "email": "control@example.net"}
    assert post_landing(control, ip="198.51.100.22").status_code == 200
    assert Subscription.objects.filter(subscriber__email="control@example.net").exists()
    assert not Subscription.objects.filter(subscriber__email__iexact=EMAIL).exists()


@pytest.mark.django_db
def test_an_import_skips_an_erased_address(erased_person, import_path):
    job = run_import(
        erased_person["list"], csv_of(EMAIL.upper() + ",Back Again", "new2@example.net,N")
    )
    assert job.imported_rows == 1
    assert [p["problem"] for p in job.errors if p.get("email", "").lower() == EMAIL.lower()]
    assert not Subscriber.objects.filter(email__iexact=EMAIL).exists()
    assert ImportJob.objects.get(pk=job.pk).skipped_rows == 1


@pytest.mark.django_db
def test_a_send_never_mails_an_erased_address_that_came_back(
    erased_person, home_page, email_account
):
    # Put back by hand (the admin form does not know the hash): still never mailed.
    back = Subscriber.objects.create(email=EMAIL, name="Back")
    Subscription.objects.create(
        subscriber=back,
        mailing_list=erased_person["list"],
        status=Subscription.Status.SUBSCRIBED,
        consent_method=Subscription.Method.IMPORT,
        consent_basis="by hand",
        consent_at=timezone.now(),
    )
    handler = erased_person["handler"]
    handler.messages.clear()
    page = make_email_issue(home_page, title="December news", slug="december-news")
    send = publish(PublicationFactory(page=page, channel_account=email_account))
    drain(send)
    recipients = {r.lower() for r in handler.count_by_recipient()}
    assert EMAIL.lower() not in recipients and len(recipients) == 4
    row = Delivery.objects.get(publication=send.publication, subscriber=back)
    assert row.status == Delivery.Status.SKIPPED


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["erased", "deleted"])
def test_an_old_emails_open_and_click_after_erasure_are_stored_without_the_person(world, how):
    person, publication = world["person"], world["publication"]
    token = message_token(publication.pk, audiences.recipient_key(person.pk))
    link = get_or_create_tracked_link("https://shop.example.com/sale", publication=publication)
    if how == "erased":
        rights.erase(person)
    else:
        Subscriber.objects.filter(pk=person.pk).delete()
    stored = set(Event.objects.values_list("pk", flat=True))

    # The old email, opened and clicked again (or a click queued before the erasure).
    reader = Client(REMOTE_ADDR="203.0.113.9")
    assert reader.get(f"/t/o/{token}", HTTP_USER_AGENT=FIREFOX).status_code == 200
    assert reader.get(f"/t/{link.code}?m={token}", HTTP_USER_AGENT=FIREFOX).status_code == 302

    new = Event.objects.exclude(pk__in=stored)
    assert sorted(new.values_list("kind", flat=True)) == ["click", "open"]
    for event in new:
        assert event.message_key == f"{publication.pk}:erased", event.kind
        assert (event.subscriber_id, event.visitor_hash, event.user_agent) == (0, "", "")
        assert event.publication_id == publication.pk and not event.is_bot
    if how == "erased":  # a plain delete leaves their earlier events as they were
        assert not Event.objects.filter(subscriber_id=person.pk).exists()
        assert not Event.objects.filter(message_key__endswith=f":s{person.pk}").exists()
    # The other recipient's click still names them.
    named = Event.objects.filter(kind="click").exclude(subscriber_id__in=[0, person.pk])
    assert named.count() == 1
