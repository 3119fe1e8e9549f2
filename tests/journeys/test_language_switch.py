"""The admin `make run` creates switches the admin to Chinese and back, by clicking
(issue 17, point 8): the account menu at the foot of the sidebar (the admin's name) ->
Account -> Profile tab, "Locale" panel -> Preferred language -> Save.

The admin is made by `manage.py ensure_admin`, as `make setup` makes it: before it had a
name, Wagtail's account form (which requires first and last name) refused every save,
the language included.
"""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from playwright.sync_api import expect

from .harness import translate

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def make_run_admin(journey_server, settings, tmp_path):
    """The admin and password `make setup` prints (its files kept out of var/)."""
    settings.VAR_DIR = tmp_path
    call_command("ensure_admin", stdout=open("/dev/null", "w"))  # noqa: SIM115
    return "admin", (tmp_path / "admin-password.txt").read_text().strip()


def switch_language(j, lang_now: str, language_label: str):
    """Account menu -> Account -> Locale: Preferred language -> Save, with every label
    read in the language the admin speaks at that moment."""
    sidebar = j.page.locator("#wagtail-sidebar")
    user = get_user_model().objects.get(username="admin")
    # The foot of the sidebar shows the admin's first name (ensure_admin gives one).
    assert user.first_name
    sidebar.get_by_role("button", name=user.first_name).click()
    j.click_link(translate("Account", lang_now))
    j.step(f"account page ({lang_now})")
    j.expect_text(translate("Locale", lang_now))
    j.page.get_by_label(translate("Preferred language", lang_now)).select_option(
        label=language_label
    )
    j.click_button(translate("Save", lang_now))


def test_the_make_run_admin_switches_the_admin_to_chinese_and_back(open_journey, make_run_admin):
    username, password = make_run_admin
    j = open_journey("admin", "en", part="language")
    j.login(username, password)

    switch_language(j, "en", "简体中文")
    # Saved (not "This field is required" on a blank name). Wagtail words the notice in
    # the language the request came in with; the page around it is already Chinese.
    j.expect_message("Your account settings have been changed successfully!")
    expect(j.page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(j.page.locator("#header-title")).to_have_text(translate("Account", "zh-hans"))
    j.step("admin in chinese")
    profile = get_user_model().objects.get(username=username).wagtail_userprofile
    assert profile.preferred_language == "zh-hans"

    switch_language(j, "zh-hans", "English")
    j.expect_message(translate("Your account settings have been changed successfully!", "zh-hans"))
    expect(j.page.locator("#header-title")).to_have_text("Account")
    expect(j.page.locator("html")).to_have_attribute("lang", "en")
    j.step("admin in english again")
    profile.refresh_from_db()
    assert profile.preferred_language == "en"
