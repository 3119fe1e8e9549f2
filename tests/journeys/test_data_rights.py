"""A marketer who answers for data protection (Marketers and Data protection) exports a
person's data (JSON, then the CSV zip) and erases the person, by clicking from the
subscriber's page, in English and Chinese, with no console errors. The buttons are
found by their data attributes: their words are new and get their Chinese in the
catalogue pass; what they do is checked in tests/campaigns/people/."""

import io
import json
import zipfile

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from .test_marketer import menu_label

pytestmark = pytest.mark.django_db(transaction=True)

EMAIL = "quill.feather@mail.example.org"


@pytest.fixture
def person(journey_server):
    from campaigns.audiences.models import MailingList, Subscriber, Subscription

    news = MailingList.objects.create(name="Weekly news", slug="weekly-news")
    person = Subscriber.objects.create(
        email=EMAIL, name="Zhao Quillfeather", attributes={"phone": "+86 139 8765 4321"}
    )
    Subscriber.objects.create(email="someone.else@example.com", name="Someone Else")
    Subscription.objects.create(
        subscriber=person,
        mailing_list=news,
        status=Subscription.Status.SUBSCRIBED,
        consent_at=timezone.now(),
        consent_method=Subscription.Method.ADMIN,
    )
    return person


def test_a_data_protection_marketer_exports_and_erases_a_person(
    open_journey, make_user, lang, person
):
    from django.contrib.auth.models import Group

    from campaigns.audiences.models import Subscriber, Suppression
    from content.roles import DATA_PROTECTION, sync_role_permissions

    sync_role_permissions()
    user = make_user("marketer", lang, username=f"dpo-{lang}")
    user.groups.add(Group.objects.get(name=DATA_PROTECTION))
    j = open_journey("marketer", lang, "data-rights")
    j.login(f"dpo-{lang}")
    j.click_menu(j.t("Audiences"), menu_label(j, Subscriber))
    j.click_link(EMAIL)
    rights = j.page.locator("[data-person-rights]")
    expect(rights).to_be_visible()
    j.step("subscriber with rights")

    with j.page.expect_download() as download:
        rights.locator("[data-rights-export-json]").click()
    data = json.loads(open(download.value.path(), encoding="utf-8").read())
    assert data["tables"]["subscriber"][0]["email"] == EMAIL
    assert data["tables"]["audiences-rights.subscriptions"][0]["mailing_list__name"] == (
        "Weekly news"
    )
    with j.page.expect_download() as download:
        rights.locator("[data-rights-export-csv]").click()
    with zipfile.ZipFile(io.BytesIO(open(download.value.path(), "rb").read())) as archive:
        assert "subscriber.csv" in archive.namelist()
        assert EMAIL in archive.read("subscriber.csv").decode("utf-8-sig")

    rights.locator("[data-rights-erase]").click()
    j.page.wait_for_load_state("load")
    form = j.page.locator("[data-rights-erase-form]")
    expect(form).to_be_visible()
    j.step("erase confirmation")
    address = form.locator("input[name=address]")
    address.fill("wrong@mail.example.org")
    form.locator("button[type=submit]").click()
    j.page.wait_for_load_state("load")
    expect(form.locator(".error-message, .w-field__errors")).not_to_have_count(0)
    assert Subscriber.objects.filter(email=EMAIL).exists()
    form.locator("input[name=address]").fill(EMAIL.upper())
    form.locator("button[type=submit]").click()
    j.page.wait_for_load_state("load")
    rows = j.page.locator("#listing-results table.listing tbody tr")
    expect(rows).to_have_count(1)
    expect(j.page.locator("#listing-results")).not_to_contain_text(EMAIL)
    expect(j.page.locator(".messages")).to_be_visible()
    j.step("erased")
    assert not Subscriber.objects.filter(email=EMAIL).exists()
    assert Suppression.objects.filter(reason="erased").count() == 1
