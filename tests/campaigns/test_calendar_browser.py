"""The schedule calendar in a real browser (Playwright driving Debian's chromium): a
marketer opens it from the admin menu, drags a publication to a day outside the
campaign (refused in words, the item goes back), to another day (saved, same time of day)
and, in the week view, to another hour. Any JavaScript console error fails the test."""

import datetime
import os
import secrets
import zoneinfo
from pathlib import Path

import pytest
from django.utils import timezone
from pytest_django.live_server_helper import LiveServer

from campaigns import services
from campaigns.models import Campaign, Publication
from tests.conftest import missing_service
from tests.factories import CampaignFactory, PublicationFactory, UserFactory

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parent.parent.parent / "var" / "screenshots"
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
USERNAME = "calendar-marketer"


@pytest.fixture
def login_server(settings, transactional_db):
    """A live server of its own, started after the test-login middleware is installed
    (see tests/analytics/test_browser.py for why the session's live server cannot)."""
    secret = secrets.token_urlsafe(16)
    settings.BROWSER_TEST_LOGIN_SECRET = secret
    settings.BROWSER_TEST_LOGIN_USER = USERNAME
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE,
        "tests.analytics.browser_login.BrowserTestLoginMiddleware",
    ]
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]
    # No outside requests from the admin pages (avatars, release check): the test machine
    # may have no internet, and a failed load is a console error.
    settings.WAGTAIL_GRAVATAR_PROVIDER_URL = None
    settings.WAGTAIL_ENABLE_UPDATE_CHECK = False
    server = LiveServer("localhost")
    try:
        yield server, secret
    finally:
        server.stop()


def sync_playwright():
    if not os.path.exists(CHROMIUM):
        missing_service(f"chromium at {CHROMIUM} (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing_service("playwright for Python (pip install playwright)")
    return sync_playwright()


@pytest.mark.services
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_drag_a_publication_to_another_day(login_server, fake_channel, fake_account, post):
    from wagtail.users.models import UserProfile

    live_server, secret = login_server
    marketer = UserFactory(username=USERNAME, groups=["Marketers"])
    profile = UserProfile.get_for_user(marketer)
    profile.current_time_zone = "Asia/Shanghai"
    profile.preferred_language = "en"
    profile.save()

    today = timezone.now().astimezone(SHANGHAI).date()
    day = today + datetime.timedelta(days=3)
    # The good move stays in the same month, so both days are on one page.
    target = day + datetime.timedelta(days=1)
    if target.month != day.month:
        target = day - datetime.timedelta(days=1)
    approver = UserFactory(username="calendar-approver", is_superuser=True)
    campaign = CampaignFactory(
        status=Campaign.Status.AWAITING_APPROVAL,
        start_date=min(day, target),
        end_date=max(day, target),
    )
    services.approve_campaign(campaign, approver)
    pub = PublicationFactory(
        campaign=campaign, page=post, channel_account=fake_account, title_override="Drag me"
    )
    services.schedule_publication(
        pub, datetime.datetime.combine(day, datetime.time(10, 30), tzinfo=SHANGHAI)
    )
    # A day on the same page that is outside the campaign (and not in the past).
    outside = day + datetime.timedelta(days=2 if target < day else 3)
    if outside.month != day.month:
        outside = min(day, target) - datetime.timedelta(days=1)
    assert outside >= today

    errors = []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1440, "height": 1100}, locale="en-US")
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda exc: errors.append(str(exc)))

        page.goto(f"{live_server.url}/admin/?test-login={secret}")
        page.get_by_role("button", name="Campaigns").click()
        page.get_by_role("link", name="Schedule calendar").click()
        page.wait_for_selector("[data-cs-calendar]")
        if day.month != today.month:
            page.get_by_role("link", name="Next »").click()
            page.wait_for_selector(f'td[data-drop-date="{day.isoformat()}"]')

        item = page.locator(f'.cs-cal-item[data-pk="{pub.pk}"]')
        flash = page.locator(".cs-cal-flash")
        assert item.get_attribute("draggable") == "true"

        # Refused: outside the campaign. The reason is shown and the item goes back.
        item.drag_to(page.locator(f'td[data-drop-date="{outside.isoformat()}"]'))
        flash.filter(has_text="outside the campaign").wait_for()
        assert "Not moved:" in flash.inner_text()
        home = page.locator(f'td[data-drop-date="{day.isoformat()}"] .cs-cal-item')
        assert home.count() == 1
        page.screenshot(path=str(SCREENSHOTS / "calendar_refused_move.png"), full_page=True)

        # Accepted: the next day, same time.
        item.drag_to(page.locator(f'td[data-drop-date="{target.isoformat()}"]'))
        flash.filter(has_text="moved to").wait_for()
        moved = page.locator(f'td[data-drop-date="{target.isoformat()}"] .cs-cal-item')
        assert moved.count() == 1 and "10:30" in moved.inner_text()
        page.screenshot(path=str(SCREENSHOTS / "calendar_month.png"), full_page=True)

        # After a reload the server draws it there too.
        page.reload()
        moved.wait_for()

        # The week view: a time grid; dropping on the 15:00 row keeps the minutes.
        page.get_by_label("View").select_option("week")
        page.get_by_role("button", name="Filter").click()
        page.wait_for_selector(".cs-cal--week")
        slot = page.locator(f'td[data-drop-date="{target.isoformat()}"][data-drop-hour="15"]')
        for _ in range(6):
            if slot.count():
                break
            page.get_by_role("link", name="Next »").click()
            page.wait_for_selector(".cs-cal--week")
        item.drag_to(slot)
        flash.filter(has_text="moved to").wait_for()
        assert "15:30" in slot.inner_text()
        page.screenshot(path=str(SCREENSHOTS / "calendar_week.png"), full_page=True)
        browser.close()

    # Django refuses the ORM while Playwright's event loop lives in this thread; check
    # the database once the browser is closed.
    assert errors == []
    pub.refresh_from_db()
    assert pub.status == Publication.Status.SCHEDULED
    expected = datetime.datetime.combine(target, datetime.time(15, 30), tzinfo=SHANGHAI)
    assert pub.publish_at == expected and pub.due_at == expected
