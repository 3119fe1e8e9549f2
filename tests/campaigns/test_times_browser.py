"""In a real browser (Debian's chromium driven by Playwright): the date choosers open on
the campaign and publication forms and on the campaign page, the content chooser's modal
searches and fills the field, the zone named beside the time follows the zone picked,
the recurrence preview lists the next occurrences, and the publication saved is due at
the instant the marketer meant. Any JavaScript console error fails the test."""

import datetime
import secrets
import shutil
from pathlib import Path

import pytest
from django.urls import reverse
from pytest_django.live_server_helper import LiveServer
from wagtail.users.models import UserProfile

from campaigns.models import Publication, TeamSettings
from tests.conftest import missing_service
from tests.factories import ChannelAccountFactory, UserFactory, make_post

SCREENSHOT_DIR = Path(__file__).resolve().parent.parent.parent / "var" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
UTC = datetime.UTC


@pytest.fixture
def browser_server(settings, transactional_db):
    """A live server of its own with the test-login middleware (see
    tests/analytics/test_browser.py for why the session-scoped one cannot be used)."""
    secret = secrets.token_urlsafe(16)
    settings.BROWSER_TEST_LOGIN_SECRET = secret
    settings.BROWSER_TEST_LOGIN_USER = "browser-marketer"
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE,
        "tests.analytics.browser_login.BrowserTestLoginMiddleware",
    ]
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]
    # No avatars from gravatar.com: this machine has no network, and the failed load
    # would be a console error that is not the page's.
    settings.WAGTAIL_GRAVATAR_PROVIDER_URL = None
    server = LiveServer("localhost")
    try:
        yield server, secret
    finally:
        server.stop()


@pytest.fixture
def browser_page(monkeypatch):
    if not shutil.which(CHROMIUM):
        missing_service("chromium (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test
    # makes between browser steps are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    errors: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        page.on(
            "console",
            lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None,
        )
        page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
        try:
            yield page, errors
        finally:
            browser.close()


def assert_picker_opens(page, selector):
    page.click(selector)
    page.wait_for_selector(".xdsoft_datetimepicker", state="visible", timeout=5000)
    page.keyboard.press("Escape")
    page.click("h1")  # away from the field: the picker closes


@pytest.mark.django_db(transaction=True)
def test_marketer_schedules_in_the_team_zone_with_the_choosers(
    browser_server, browser_page, site, campaign
):
    server, secret = browser_server
    page, errors = browser_page
    team = TeamSettings.load()
    team.time_zone = "Asia/Shanghai"
    team.save()
    marketer = UserFactory(username="browser-marketer", groups=["Marketers"])
    profile = UserProfile.get_for_user(marketer)
    assert profile.current_time_zone == "Asia/Shanghai"  # new users start in the team zone
    profile.current_time_zone = "UTC"  # ...but the publication's zone is what counts
    profile.save()
    from tests.factories import make_blog

    blog = make_blog(site.root_page)
    post = make_post(blog, title="Spring sale guide", slug="spring")
    make_post(blog, title="Autumn outlook", slug="autumn")
    hub = ChannelAccountFactory(kind="blog/wagtail_site", name="Hub", rate_limit_per_minute=0)
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)

    add = reverse("campaigns_admin:publication_create", args=[campaign.pk])
    page.goto(f"{server.url}{add}?test-login={secret}")
    page.wait_for_selector("form[data-cs-schedule-form]")

    # The content chooser: a modal, searchable, filling the field.
    page.get_by_role("button", name="Choose content").click()
    modal = page.locator(".modal-content")
    modal.wait_for(state="visible")
    modal.locator("input[name=q]").fill("Spring")
    modal.get_by_text("There is 1 match").wait_for()
    assert modal.get_by_text("Autumn outlook").count() == 0
    page.screenshot(path=str(SCREENSHOT_DIR / "content_chooser.png"))
    modal.get_by_role("link", name="Spring sale guide").click()
    modal.wait_for(state="hidden")
    assert page.input_value("input[name=page]") == str(post.pk)
    assert page.get_by_text("Spring sale guide · blog post · live").is_visible()

    page.select_option("#id_channel_account", str(hub.pk))

    # The zone: the team's by default, named under the time, following the select.
    assert page.input_value("#id_timezone") == "Asia/Shanghai"
    assert page.inner_text("#id_publish_at-helptext") == "In Asia/Shanghai."
    page.select_option("#id_timezone", "Europe/Berlin")
    assert page.inner_text("#id_publish_at-helptext") == "In Europe/Berlin."
    assert page.inner_text("#id_until-helptext") == "In Europe/Berlin."
    page.select_option("#id_timezone", "Asia/Shanghai")

    # The date chooser opens; a Chinese spelling typed by hand is left as typed.
    assert_picker_opens(page, "#id_publish_at")
    page.fill("#id_publish_at", "2030/12/31 08:30")
    page.click("h1")
    assert page.input_value("#id_publish_at") == "2030/12/31 08:30"

    # The recurrence builder and its preview, in Shanghai's wall clock.
    assert not page.is_visible("#id_weekdays")
    page.select_option("#id_repeat", "weekly")
    page.check("input[name=weekdays][value=MO]")
    page.select_option("#id_ends", "count")
    page.fill("#id_count", "3")
    preview = page.locator("[data-cs-preview-list] li")
    preview.nth(2).wait_for()
    assert preview.all_inner_texts() == [
        "Mon 2031-01-06 08:30",
        "Mon 2031-01-13 08:30",
        "Mon 2031-01-20 08:30",
    ]
    page.screenshot(path=str(SCREENSHOT_DIR / "publication_form_times.png"), full_page=True)

    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url("**/publications/*/")
    pub = Publication.objects.get()
    assert pub.recurrence == "FREQ=WEEKLY;BYDAY=MO;COUNT=3"
    assert pub.publish_at == datetime.datetime(2031, 1, 6, 0, 30, tzinfo=UTC)
    assert page.input_value("#id_publish_at") == "2031-01-06 08:30"

    # The other forms' date choosers: the campaign form and the bulk reschedule.
    page.goto(f"{server.url}{reverse('campaigns_admin:edit', args=[campaign.pk])}")
    assert_picker_opens(page, "#id_start_date")
    page.goto(f"{server.url}{reverse('campaigns_admin:detail', args=[campaign.pk])}")
    assert_picker_opens(page, "#id_publish_at")

    assert errors == []
