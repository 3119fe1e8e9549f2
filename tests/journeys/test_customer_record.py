"""The customer record end to end (issue 21, "Done means"), in English and Chinese: a
person fills in a landing page's form, is sent an email and clicks its link, answers an
NPS survey sent to them, and writes a complaint on the feedback page, each through the
real path (the form over HTTP, the tracked redirect with the message token, the survey
and case services). A marketer then opens People from the menu, finds the person by
name, sees the send, the click, the form submission, the survey answer and the case on
their timeline, opens the case from it and answers it. No console errors."""

import pytest
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from analytics.events import record_events
from analytics.link_cache import LINK_CACHE
from analytics.links import get_or_create_tracked_link
from analytics.tokens import message_token
from campaigns.audiences.models import Subscriber
from campaigns.audiences.services import recipient_key
from campaigns.feedback import services as feedback
from campaigns.feedback.models import Case
from campaigns.surveys import services as surveys
from tests.campaigns.feedback.conftest import make_feedback_page
from tests.campaigns.leads.conftest import VALID, make_landing
from tests.campaigns.surveys.conftest import make_nps, publication_of
from tests.factories import ChannelAccountFactory, PublicationFactory, make_email_issue

from .test_landing_page import _home

pytestmark = pytest.mark.django_db(transaction=True)

EMAIL = "wang.fang@example.cn"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"


@pytest.fixture
def person(journey_server, settings):
    """王芳 and everything she did, through the paths a reader's actions take."""
    settings.REDIS_URL = ""  # events stored as they happen (no queue to drain)
    LINK_CACHE.clear()
    home = _home()
    reader = Client(HTTP_USER_AGENT=FIREFOX)

    # A landing page's form: the person is created from her answers.
    landing = make_landing(home)
    answer = reader.post(landing.url, {**VALID, "email": EMAIL}, REMOTE_ADDR="198.51.100.7")
    assert answer.status_code == 200
    wang = Subscriber.objects.get(email=EMAIL)

    # An email sent and delivered to her, and her click on its tracked link.
    issue = make_email_issue(home)
    account = ChannelAccountFactory(kind="email/smtp", name="Newsletter")
    email = PublicationFactory(page=issue, channel_account=account, campaign__name="Spring")
    key = recipient_key(wang.pk)
    now = timezone.now()
    record_events(
        [
            {"kind": kind, "publication_id": email.pk, "recipient_key": key, "occurred_at": now}
            for kind in ("send", "delivery")
        ]
    )
    link = get_or_create_tracked_link("https://shop.example.com/spring", publication=email)
    click = reader.get(f"/t/{link.code}?m={message_token(email.pk, key)}", REMOTE_ADDR="10.0.0.1")
    assert click.status_code == 302

    # An NPS survey sent to her, answered 9.
    survey = make_nps(home)
    sent = publication_of(survey)
    recipient = surveys.recipient_for(survey, message_token(sent.pk, key))
    assert surveys.record_nps(survey, recipient, 9) is not None

    # A complaint on the feedback page.
    page = make_feedback_page(home)
    case = feedback.open_case(
        page,
        {
            "category": "complaint",
            "email": EMAIL,
            "name": "王芳",
            "subject": "Parcel arrived broken 包裹破损",
            "message": "The box was crushed. 盒子被压坏了。",
        },
    )
    return wang, case


def test_marketer_reads_a_persons_timeline_and_answers_their_case(
    open_journey, make_user, lang, person
):
    wang, case = person
    make_user("marketer", lang)
    j = open_journey("marketer", lang, "customer-record")
    j.login(f"marketer-{lang}")
    j.click_menu(j.t("People"))
    j.field(j.t("Search by email, name, phone or company")).fill("王芳")
    j.click_button(j.t("Search"))
    results = j.page.locator("[data-people-results] tbody tr")
    expect(results).to_have_count(1)
    j.step("search by name")
    j.click_link(EMAIL, within=results)

    timeline = j.page.locator("[data-timeline]")
    for kind in (
        "email.send",
        "email.click",
        "leads.submitted",
        "survey.answered",
        "feedback.case_opened",
    ):
        expect(timeline.locator(f'li[data-kind="{kind}"]').first).to_be_visible()
    expect(timeline.locator('li[data-kind="email.click"]').first).to_contain_text(
        "shop.example.com"
    )
    j.step("timeline")

    timeline.locator('li[data-kind="feedback.case_opened"] a').first.click()
    j.expect_text("The box was crushed. 盒子被压坏了。")
    j.step("the case")
    j.page.locator("[data-feedback-reply] textarea").fill("A new one is on its way. 新的已寄出。")
    j.click_button(j.t("Send reply"))
    j.expect_message(j.t("Reply sent to %(email)s.") % {"email": EMAIL})
    j.step("answered")
    case.refresh_from_db()
    assert case.entries.filter(body__contains="新的已寄出").exists()
    assert j.console_errors == []
    assert j.defects == []
    assert Case.objects.count() == 1 and wang.pk == case.subscriber_id
