"""A landing page's form over HTTP: every field type answered and stored, the subscriber
created (name, phone, company) and never overwritten by a stranger, field errors with
every answer kept, hostile input (the naughty strings in every field) never a 500 and
never lost, the per-client limit, the list opt-in with double opt-in, and the SEO
analysis every content page gets."""

import datetime
import decimal

import pytest
from django.core import mail
from django.test import Client

from analytics import conversions
from campaigns.audiences.models import Subscriber, Subscription, Suppression
from campaigns.leads.models import LandingPage, LeadSubmission
from content.seo.pages import analyse_page

from .conftest import VALID, make_landing

pytestmark = pytest.mark.django_db
URL = "/spring-demo/"


def post(data, ip="198.51.100.7", url=URL):
    return Client(REMOTE_ADDR=ip).post(url, data)


def test_a_home_page_may_hold_landing_pages(home_page):
    assert LandingPage.can_create_at(home_page)
    assert LandingPage in home_page.specific_class.allowed_subpage_models()


def test_every_field_type_is_answered_stored_and_fills_the_subscriber(landing, celery_eager):
    page = Client().get(URL)
    assert page.status_code == 200
    html = page.content.decode()
    for name in VALID:
        assert f'name="{name}"' in html
    assert "Yes, send me the monthly news." in html  # the list's consent text, shown
    assert 'type="tel"' in html

    response = post(VALID)
    assert response.status_code == 200
    assert "Thank you. We received your answers." in response.content.decode()
    submission = LeadSubmission.objects.get()
    data = submission.form_data
    assert data["email"] == "王芳@例子.中国"
    assert data["interests"] == ["Email", "Blog"]
    assert data["channels"] == ["WeChat", "Email"]
    assert data["agree_to_be_called"] is True
    assert decimal.Decimal(data["team_size"]) == 12
    assert data["start_date"] == "2026-12-24"
    assert data["call_at"].startswith("2026-12-24T10:30")
    assert data["source"] == "partner"
    assert submission.subscribe_requested is False  # the box was not ticked
    subscriber = submission.subscriber
    assert subscriber.email == "王芳@例子.中国"
    assert subscriber.name == "王芳"
    assert subscriber.attributes == {"phone": "+86 10 1234 5678", "company": "Acme 有限公司"}
    assert not Subscription.objects.exists()
    assert mail.outbox == []


def test_a_public_form_fills_what_is_missing_and_overwrites_nothing(landing):
    known = Subscriber.objects.create(
        email="boss@example.org", name="The Boss", attributes={"company": "Real Co"}
    )
    post({**VALID, "email": "Boss@Example.ORG", "full_name": "Prankster", "company": "Fake"})
    known.refresh_from_db()
    assert known.name == "The Boss"
    assert known.attributes == {"company": "Real Co", "phone": "+86 10 1234 5678"}
    # The submission keeps what was typed, linked to the one subscriber.
    submission = LeadSubmission.objects.get()
    assert submission.subscriber == known
    assert submission.form_data["full_name"] == "Prankster"
    assert Subscriber.objects.count() == 1


def test_errors_are_shown_per_field_and_every_answer_is_kept(landing):
    bad = {
        **VALID,
        "email": "not an address",
        "phone": "call me maybe",
        "team_size": "NaN",
        "website": "javascript:alert(1)",
        "country": "Atlantis",
        "start_date": "2026-02-30",
        "full_name": "",
        "message": "x" * 5001,
    }
    response = post(bad)
    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) == {
        "email",
        "phone",
        "team_size",
        "website",
        "country",
        "start_date",
        "full_name",
        "message",
    }
    html = response.content.decode()
    assert "Please correct the answers marked below." in html
    assert "Enter a phone number" in html
    # What was typed comes back in the form, the good answers and the bad ones.
    assert 'value="Acme 有限公司"' in html
    assert 'value="call me maybe"' in html
    assert 'value="not an address"' in html
    assert "x" * 5001 in html  # too long, and still there to shorten
    assert not LeadSubmission.objects.exists()


@pytest.mark.corpora
def test_naughty_strings_in_every_field_never_fail_and_are_never_lost(
    home_page, naughty_strings, settings
):
    """Each string of the Big List in every text field: either stored exactly as the
    form cleaned it or refused with a field error; never a 500."""
    make_landing(
        home_page,
        fields=[
            ("Email", "email", False, ""),
            ("Full name", "name", False, ""),
            ("Company", "company", False, ""),
            ("Job title", "singleline", False, ""),
            ("Message", "multiline", False, ""),
            ("Source", "hidden", False, ""),
            ("Country", "dropdown", False, "China\nGermany"),
        ],
    )
    client = Client(REMOTE_ADDR="198.51.100.9")
    stored = refused = 0
    settings.AUDIENCES_FORM_LIMIT = 0
    for text in naughty_strings:
        data = {k: text for k in ("full_name", "company", "job_title", "message", "source")}
        data.update(email=text, country=text)
        response = client.post(URL, data)
        assert response.status_code == 200, text
        if response.context.get("form") is not None and response.context["form"].errors:
            errors = response.context["form"].errors
            refused += 1
            # Only the fields a naughty string may fail: the address, the choice, NULs.
            assert set(errors) <= {"email", "country", *data}, (text, errors)
        else:
            stored += 1
            kept = LeadSubmission.objects.latest("pk").form_data
            assert kept["message"] == text.strip()
    assert stored + refused == len(naughty_strings)
    assert refused  # addresses and choices that are not
    assert LeadSubmission.objects.count() == stored


def test_a_nul_byte_is_a_field_error_not_a_500(landing):
    response = post({**VALID, "message": "hi\x00there", "job_title": "\x00"})
    assert response.status_code == 200
    assert {"message", "job_title"} <= set(response.context["form"].errors)
    assert not LeadSubmission.objects.exists()


def test_over_the_client_limit_the_form_comes_back_with_429_and_the_answers(landing, settings):
    settings.AUDIENCES_FORM_LIMIT = 2
    for _ in range(2):
        assert post(VALID, ip="203.0.113.5").status_code == 200
    response = post({**VALID, "company": "Third Co"}, ip="203.0.113.5")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    html = response.content.decode()
    assert "Too many attempts from your network" in html
    assert 'value="Third Co"' in html
    assert LeadSubmission.objects.count() == 2
    # Another client is not limited.
    assert post(VALID, ip="203.0.113.6").status_code == 200


def test_ticking_the_list_subscribes_with_double_opt_in(landing, news, celery_eager):
    response = post({**VALID, "email": "lead@example.org", "_subscribe": "on"})
    assert response.status_code == 200
    assert "check your inbox" in response.content.decode()
    submission = LeadSubmission.objects.get()
    assert submission.subscribe_requested
    subscription = Subscription.objects.get(subscriber__email="lead@example.org")
    assert subscription.mailing_list == news
    assert subscription.status == Subscription.Status.PENDING
    assert subscription.consent_method == Subscription.Method.FORM
    assert subscription.consent_text == "Yes, send me the monthly news."
    assert subscription.source_ip_hash  # hashed, never the address itself
    assert [m.to for m in mail.outbox] == [["lead@example.org"]]
    assert "confirm" in mail.outbox[0].subject.lower()

    # Confirming through the emailed link makes it a subscription.
    link = next(line for line in mail.outbox[0].body.splitlines() if "/subscribe/confirm/" in line)
    path = link[link.index("/subscribe/confirm/") :].strip()
    assert Client().post(path).status_code == 200
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.SUBSCRIBED


def test_a_list_without_double_opt_in_subscribes_at_once(landing, news, celery_eager):
    news.double_opt_in = False
    news.save()
    response = post({**VALID, "email": "now@example.org", "_subscribe": "on"})
    assert "check your inbox" not in response.content.decode()
    assert Subscription.objects.get().status == Subscription.Status.SUBSCRIBED
    assert mail.outbox == []


def test_a_suppressed_address_is_kept_as_a_lead_and_gets_the_same_answer(landing, celery_eager):
    Suppression.objects.create(email="gone@example.org", reason="complaint")
    response = post({**VALID, "email": "gone@example.org", "_subscribe": "on"})
    assert response.status_code == 200
    assert "check your inbox" in response.content.decode()
    assert LeadSubmission.objects.get().form_data["email"] == "gone@example.org"
    assert not Subscription.objects.exists()
    assert mail.outbox == []


def test_a_thank_you_page_receives_the_reader(home_page, news):
    thanks = make_landing(home_page, title="Thanks", slug="thanks", fields=[])
    make_landing(home_page, thank_you_page=thanks)
    response = post(VALID)
    assert response.status_code == 302
    assert response["Location"].endswith("/thanks/")
    assert LeadSubmission.objects.filter(page__slug="spring-demo").count() == 1


def test_the_conversion_is_reported_with_the_page_and_the_subscriber(landing, monkeypatch):
    calls = []
    monkeypatch.setattr(conversions, "form_submitted", lambda *args: calls.append(args))
    post(VALID)
    submission = LeadSubmission.objects.get()
    (request, page_id, subscriber_id) = calls[0]
    assert (page_id, subscriber_id) == (landing.pk, submission.subscriber_id)
    assert request.path == URL


def test_a_failing_conversion_loses_no_answer(landing, monkeypatch):
    def broken(*args):
        raise RuntimeError("analytics is down")

    monkeypatch.setattr(conversions, "form_submitted", broken)
    assert post(VALID).status_code == 200
    assert LeadSubmission.objects.count() == 1


def test_the_landing_page_gets_the_seo_analysis_of_every_content_page(home_page):
    page = make_landing(
        home_page,
        focus_keyphrase="spring sale",
        seo_title="Spring sale demo: book your spring sale tour",
        search_description="Book a spring sale demo in five minutes.",
        intro="<p>Our spring sale tools, shown in a short demo. " + "Plan it well. " * 40 + "</p>",
    )
    result = analyse_page(page)
    assert result.score > 0
    assert page.get_meta_description() == "Book a spring sale demo in five minutes."
    html = Client().get(URL).content.decode()
    assert '<link rel="canonical"' in html
    assert 'content="Book a spring sale demo in five minutes."' in html


def test_a_draft_landing_page_takes_no_answers(home_page):
    make_landing(home_page, publish=False)
    assert post(VALID).status_code == 404
    assert not LeadSubmission.objects.exists()


def test_dates_are_stored_as_text_the_export_reads(landing):
    post(VALID)
    data = LeadSubmission.objects.get().get_data()
    assert isinstance(data["submit_time"], datetime.datetime)


def test_a_form_submitted_goal_converts_once_per_lead(landing, settings):
    """Through analytics.conversions (h20-goals): the page's active "form submitted"
    goal gets a conversion event for the lead; the same person again is not a second."""
    from analytics.models import Event, Goal
    from tests.factories import CampaignFactory

    settings.REDIS_URL = ""  # events stored at once, no queue to drain
    goal = Goal.objects.create(
        campaign=CampaignFactory(), name="Demo booked", kind=Goal.Kind.FORM, page=landing
    )
    post(VALID)
    post(VALID)
    conversions = Event.objects.filter(kind=Event.Kind.CONVERSION)
    assert conversions.count() == 1
    assert conversions.get().goal_id == goal.pk


@pytest.mark.parametrize("url", [URL, "embed"])
def test_a_post_over_the_request_size_limit_is_refused_not_a_500(landing, settings, url):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100_000
    target = f"/forms/{landing.pk}/embed/" if url == "embed" else url
    client = Client(REMOTE_ADDR="198.51.100.8")
    response = client.post(target, {**VALID, "message": "x" * 200_000})
    assert response.status_code == 400
    assert not LeadSubmission.objects.exists()


def test_the_page_form_refuses_two_fields_with_one_name(landing):
    from campaigns.leads.models import LandingPageForm, LeadFormField

    assert issubclass(landing.get_edit_handler().get_form_class(), LandingPageForm)
    landing.form_fields.add(LeadFormField(label="Email", field_type="singleline"))
    form_class = landing.get_edit_handler().get_form_class()
    data = {"title": landing.title, "slug": landing.slug, "language": "en"}
    prefix = "form_fields"
    fields = list(landing.form_fields.all())
    data.update(
        {
            f"{prefix}-TOTAL_FORMS": str(len(fields)),
            f"{prefix}-INITIAL_FORMS": "0",
            f"{prefix}-MIN_NUM_FORMS": "0",
            f"{prefix}-MAX_NUM_FORMS": "1000",
        }
    )
    for i, field in enumerate(fields):
        data.update(
            {
                f"{prefix}-{i}-label": field.label,
                f"{prefix}-{i}-field_type": field.field_type,
                f"{prefix}-{i}-required": "",
                f"{prefix}-{i}-choices": field.choices,
                f"{prefix}-{i}-default_value": "",
                f"{prefix}-{i}-help_text": "",
                f"{prefix}-{i}-ORDER": str(i),
            }
        )
    form = form_class(data, instance=landing, for_user=None)
    assert not form.is_valid()
    assert "Field name 'email' conflicts with another field" in str(form.formsets[prefix].errors)
