"""The feedback form over HTTP: on the hub and embedded, in the form's language; a post
opens a case (reference, due time, the person found or created, no list joined) and
mails the confirmation with a status link; the status page shows the public thread and
takes a message; posts are limited per client; hostile input is never a 500."""

import re

import pytest
from django.core import mail
from django.test import Client

from campaigns.audiences.models import Subscriber, Subscription
from campaigns.feedback.models import Case, CaseEntry
from campaigns.feedback.panels import embed_code
from tests.campaigns.audiences.factories import SubscriberFactory

from .conftest import URL, VALID

pytestmark = pytest.mark.django_db(transaction=False)


def status_link(message) -> str:
    return re.search(r"https?://\S+/feedback/status/\S+/", message.body).group(0)


def test_the_form_offers_the_pages_categories(home_page):
    from .conftest import make_feedback_page

    make_feedback_page(home_page, offer_suggestion=False)
    html = Client().get(URL).content.decode()
    assert 'value="complaint"' in html and 'value="enquiry"' in html
    assert 'value="suggestion"' not in html
    response = Client().post(URL, {**VALID, "category": "suggestion"})
    assert response.status_code == 200
    assert Case.objects.count() == 0
    assert "category" in response.context["form"].errors


def test_a_post_opens_a_case_and_mails_the_confirmation(
    feedback_page, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = Client(REMOTE_ADDR="198.51.100.1").post(URL, VALID)
    assert response.status_code == 200
    case = Case.objects.get()
    assert re.fullmatch(r"FB-\d{4}-\d{6}", case.reference)
    assert case.reference in response.content.decode()
    assert case.status == Case.Status.NEW and case.category == "complaint"
    assert case.due_at > case.opened_at
    assert (case.name, case.email, case.phone, case.order_reference) == (
        "王芳",
        "wang.fang@example.org",
        "+86 10 1234 5678",
        "SO-2026-0042",
    )
    person = Subscriber.objects.get(email="wang.fang@example.org")
    assert case.subscriber == person
    assert person.name == "王芳" and person.attributes["phone"] == "+86 10 1234 5678"
    assert Subscription.objects.count() == 0  # no list without consent
    assert [e.kind for e in case.entries.all()] == ["message"]
    assert case.entries.get().body == VALID["message"]
    [message] = mail.outbox
    assert message.to == ["wang.fang@example.org"]
    assert case.reference in message.subject and case.reference in message.body
    assert "/feedback/status/" in message.body
    assert message.extra_headers["Content-Language"] == "en"


def test_a_known_person_is_matched_and_not_overwritten(feedback_page):
    known = SubscriberFactory(email="wang.fang@example.org", name="Fang Wang")
    Client().post(URL, {**VALID, "email": "Wang.Fang@EXAMPLE.org"})
    case = Case.objects.get()
    assert case.subscriber == known
    known.refresh_from_db()
    assert known.name == "Fang Wang"


def test_the_form_and_its_emails_are_in_the_forms_language(
    zh_feedback_page, django_capture_on_commit_callbacks
):
    page = Client().get("/fankui/", HTTP_ACCEPT_LANGUAGE="en")
    assert "发送" in page.content.decode()  # the button, "Send"
    with django_capture_on_commit_callbacks(execute=True):
        Client().post("/fankui/", VALID, HTTP_ACCEPT_LANGUAGE="en")
    case = Case.objects.get()
    assert case.language == "zh-hans"
    [message] = mail.outbox
    assert message.extra_headers["Content-Language"] == "zh-hans"


def test_required_fields_and_bad_input_come_back_with_everything_kept(feedback_page):
    response = Client().post(
        URL, {**VALID, "email": "not an address", "phone": "call me", "message": " "}
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert {"email", "phone", "message"} <= set(errors)
    assert "Parcel arrived broken" in response.content.decode()
    assert Case.objects.count() == 0
    response = Client().post(URL, {k: v for k, v in VALID.items() if k != "email"})
    assert "email" in response.context["form"].errors


def test_posts_are_limited_per_client(feedback_page, settings):
    settings.AUDIENCES_FORM_LIMIT = 2
    client = Client(REMOTE_ADDR="198.51.100.7")
    assert client.post(URL, VALID).status_code == 200
    assert client.post(URL, VALID).status_code == 200
    third = client.post(URL, {**VALID, "subject": "Third try"})
    assert third.status_code == 429 and int(third["Retry-After"]) > 0
    assert "Third try" in third.content.decode()
    assert Case.objects.count() == 2
    assert Client(REMOTE_ADDR="198.51.100.8").post(URL, VALID).status_code == 200


def test_naughty_strings_never_fail_and_are_never_lost(feedback_page, naughty_strings, settings):
    settings.AUDIENCES_FORM_LIMIT = 0
    client = Client(REMOTE_ADDR="198.51.100.9")
    stored = refused = 0
    for text in naughty_strings:
        data = {k: text for k in ("name", "subject", "message", "order_reference", "phone")}
        data.update(category=text, email=text)
        response = client.post(URL, data)
        assert response.status_code == 200, text
        # The same string in the free text with valid contact details: stored as given.
        response = client.post(
            URL, {**VALID, "subject": text[:200], "message": text or "x", "name": text[:200]}
        )
        assert response.status_code == 200, text
        form = response.context["form"]
        if form is not None and form.errors:
            refused += 1
            continue
        stored += 1
        case = Case.objects.latest("pk")
        # As the form cleaned it (surrounding whitespace stripped, as every Django form).
        assert case.subject == text[:200].strip()
        assert case.entries.get().body == (text or "x").strip()
    assert stored > len(naughty_strings) * 0.8
    # The status page of each stored case renders.
    from campaigns.feedback import services

    for case in Case.objects.all()[:50]:
        assert Client().get(services.status_url(case)).status_code == 200


def test_only_the_embedded_form_may_be_framed(feedback_page):
    hub = Client().get(URL)
    assert hub["X-Frame-Options"] == "DENY"
    embed_url = f"/feedback/{feedback_page.pk}/embed/"
    embedded = Client(enforce_csrf_checks=True).get(embed_url)
    assert embedded.status_code == 200
    assert "X-Frame-Options" not in embedded
    assert "frame-ancestors 'none'" not in embedded.get("Content-Security-Policy", "")
    # A third-party frame sends no CSRF cookie: the post is still taken.
    posted = Client(enforce_csrf_checks=True).post(embed_url, VALID)
    assert posted.status_code == 200 and "X-Frame-Options" not in posted
    assert Case.objects.get().embedded is True
    assert embed_url in embed_code(feedback_page)
    assert Client().get("/feedback/999999/embed/").status_code == 404


def test_a_draft_page_is_not_embeddable(home_page):
    from .conftest import make_feedback_page

    page = make_feedback_page(home_page, publish=False)
    assert Client().get(f"/feedback/{page.pk}/embed/").status_code == 404


def test_the_status_link_shows_the_public_thread_and_takes_a_message(
    feedback_page, django_capture_on_commit_callbacks
):
    from campaigns.feedback import services
    from tests.factories import UserFactory

    with django_capture_on_commit_callbacks(execute=True):
        Client().post(URL, VALID)
    case = Case.objects.get()
    link = status_link(mail.outbox[0])
    staff = UserFactory(username="agent", groups=["Marketers"])
    services.add_note(case, staff, "Customer is a known complainer (internal)")
    with django_capture_on_commit_callbacks(execute=True):
        services.reply(case, staff, "We are sending a new one today.")
    services.set_status(case, Case.Status.WAITING, staff)
    reply_mail = mail.outbox[-1]
    assert "We are sending a new one today." in reply_mail.body
    assert status_link(reply_mail) == link

    path = link.split("://", 1)[1].split("/", 1)[1]
    html = Client().get("/" + path).content.decode()
    assert case.reference in html
    assert "We are sending a new one today." in html
    assert "known complainer" not in html
    assert 'data-case-status="waiting"' in html

    response = Client().post("/" + path, {"message": "Thanks, still waiting for it."})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Case.Status.OPEN  # the person wrote again
    assert case.entries.filter(kind=CaseEntry.Kind.MESSAGE).count() == 2

    tampered = path.replace("/status/", "/status/x")
    assert Client().get("/" + tampered).status_code == 404
    assert Client().get("/feedback/status/not-a-token/").status_code == 404


def test_a_closed_case_takes_no_more_messages(feedback_page):
    from campaigns.feedback import services

    Client().post(URL, VALID)
    case = Case.objects.get()
    services.set_status(case, Case.Status.CLOSED, None)
    response = Client().post(services.status_url(case), {"message": "Hello?"})
    assert response.status_code == 200
    assert case.entries.filter(kind=CaseEntry.Kind.MESSAGE).count() == 1


def _staff_sees(case, staff) -> str:
    client = Client()
    client.force_login(staff)
    return client.get(f"/admin/feedback/{case.pk}/").content.decode()


def test_a_suppressed_address_gets_its_case_but_no_email(
    feedback_page, django_capture_on_commit_callbacks
):
    from campaigns.audiences.services import suppress_address
    from campaigns.feedback import services
    from tests.factories import UserFactory

    suppress_address("wang.fang@example.org", "complaint")
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(f"/feedback/{feedback_page.pk}/embed/", VALID)
    assert response.status_code == 200
    case = Case.objects.get()
    assert case.email == "wang.fang@example.org" and case.embedded
    assert mail.outbox == []  # no confirmation
    staff = UserFactory(username="agent", groups=["Marketers"])
    assert "data-no-email" in _staff_sees(case, staff)
    client = Client()
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/admin/feedback/{case.pk}/", {"action": "reply", "body": "Sorry."}, follow=True
        )
    assert "we may not email this address" in response.content.decode()
    assert mail.outbox == []  # no reply either; the reply is in the thread
    assert case.entries.filter(kind=CaseEntry.Kind.REPLY, body="Sorry.").exists()
    # A mailable address is not marked, and is mailed.
    with django_capture_on_commit_callbacks(execute=True):
        services.open_case(None, {**VALID, "email": "other@example.org"}, language="en")
    other = Case.objects.get(email="other@example.org")
    assert "data-no-email" not in _staff_sees(other, staff)
    assert [m.to for m in mail.outbox] == [["other@example.org"]]


def test_an_erased_address_gets_its_case_but_no_email_and_no_subscriber_again(
    feedback_page, django_capture_on_commit_callbacks
):
    from campaigns.people.rights import erase
    from tests.factories import UserFactory

    erase(SubscriberFactory(email="wang.fang@example.org", name="Fang Wang"))
    assert not Subscriber.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(URL, {**VALID, "email": "Wang.Fang@EXAMPLE.org "})
    assert response.status_code == 200
    case = Case.objects.get()
    assert case.subscriber is None and case.email.lower() == "wang.fang@example.org"
    assert not Subscriber.objects.exists()  # the erased person is not re-created
    assert mail.outbox == []
    staff = UserFactory(username="agent", groups=["Marketers"])
    html = _staff_sees(case, staff)
    assert "data-no-email" in html and "Parcel arrived broken" in html
