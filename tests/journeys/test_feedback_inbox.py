"""A complaint from the form to its answer, in English and in Chinese: a reader sends a
complaint on the hub's feedback page and is given a reference; a marketer opens it from
the Feedback menu, replies and sets it resolved; the reader's status link (from the
confirmation email) shows the reply and "resolved". No console errors anywhere.

The new words of the feedback inbox are read through `tr` (the catalogue's translation,
the English words until the zh-Hans catalogue pass adds them), not `Journey.t`, which
insists on a Chinese translation."""

import re
import time

import pytest
from django.core import mail
from playwright.sync_api import expect

from campaigns.feedback.models import Case
from tests.campaigns.feedback.conftest import make_feedback_page

from .harness import translate
from .test_landing_page import _home

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_reader_complains_and_a_marketer_answers_and_resolves_it(
    open_journey, make_user, lang, browser, journey_server, settings
):
    settings.SITE_BASE_URL = journey_server.url

    def tr(msgid):
        return translate(msgid, lang)

    page = make_feedback_page(
        _home(), title="意见反馈" if lang != "en" else "Contact us", language=lang
    )
    make_user("marketer", lang)

    # The reader, in another browser, on the hub.
    reader = browser.new_context(locale="zh-CN" if lang != "en" else "en-US")
    tab = reader.new_page()
    errors = []
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.goto(f"{journey_server.url}{page.url}")
    tab.get_by_label(tr("Complaint"), exact=True).check()
    tab.locator("[name=name]").fill("王芳")
    tab.locator("[name=email]").fill("wang.fang@example.org")
    tab.locator("[name=subject]").fill("Parcel arrived broken 包裹破损")
    tab.locator("[name=message]").fill("The box was crushed.\n盒子被压坏了。")
    tab.locator("form.feedback-form button[type=submit]").click()
    thanks = tab.locator("[data-feedback-thanks]")
    expect(thanks).to_be_visible()
    case = Case.objects.get()
    expect(tab.locator("[data-case-reference]")).to_have_text(case.reference)
    deadline = time.monotonic() + 10
    while not mail.outbox and time.monotonic() < deadline:
        time.sleep(0.2)
    [confirmation] = mail.outbox
    assert confirmation.extra_headers["Content-Language"] == lang
    status_link = re.search(r"http://\S+/feedback/status/\S+/", confirmation.body).group(0)

    # The marketer: Feedback menu > the case > reply > resolved.
    j = open_journey("marketer", lang, "feedback")
    j.login(f"marketer-{lang}")
    j.click_menu(tr("Feedback"))
    j.step("feedback inbox")
    j.click_link(case.reference)
    j.expect_text("The box was crushed.")
    j.step("the case")
    j.page.locator("[data-feedback-reply] textarea").fill("A new one is on its way. 新的已寄出。")
    j.click_button(tr("Send reply"))
    j.expect_message(tr("Reply sent to %(email)s.") % {"email": "wang.fang@example.org"})
    j.page.locator("[data-feedback-status] select").select_option(label=tr("Resolved"))
    j.click_button(tr("Change status"))
    j.expect_message(tr("Status saved."))
    expect(j.page.locator("[data-case-status]")).to_have_attribute("data-case-status", "resolved")
    j.step("resolved")
    case.refresh_from_db()
    assert case.status == Case.Status.RESOLVED
    deadline = time.monotonic() + 10
    while len(mail.outbox) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "新的已寄出" in mail.outbox[-1].body

    # The reader opens the status link from the email.
    tab.goto(status_link)
    expect(tab.get_by_text("A new one is on its way. 新的已寄出。")).to_be_visible()
    expect(tab.locator("[data-case-status]")).to_have_text(tr("Resolved"))
    tab.screenshot(path=str(j.shots / "feedback-reader-status.png"), full_page=True)
    reader.close()
    assert errors == []
    assert j.console_errors == []
    assert j.defects == []
