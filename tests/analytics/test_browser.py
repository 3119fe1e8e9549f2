"""Headless Chromium opens the campaign dashboard with demo data, saves a screenshot and
checks that every chart rendered with data points."""

import re
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from pytest_django.live_server_helper import LiveServer

from tests.conftest import missing_service

SCREENSHOT_DIR = Path(__file__).resolve().parent.parent.parent / "var" / "screenshots"


def chromium_binary():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    missing_service("chromium (apt-get install -y chromium)")


def run_chromium(binary, url, *extra):
    args = [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--hide-scrollbars",
        "--window-size=1440,2200",
        "--virtual-time-budget=15000",
        "--lang=en-US",
        *extra,
        url,
    ]
    return subprocess.run(args, capture_output=True, text=True, timeout=180)


@pytest.fixture
def browser_login_server(settings, transactional_db):
    """A live server of its own, started after the test-login middleware is installed.

    pytest-django's `live_server` is session-scoped, and Django's live server thread
    builds its handler (and so loads MIDDLEWARE) once, when it starts: changing
    settings.MIDDLEWARE in a test never reaches it, the `test-login` parameter is
    ignored and the browser lands on the Wagtail sign-in page. Depending on
    `transactional_db` stops this server before the test's database is flushed.
    """
    secret = secrets.token_urlsafe(16)
    settings.BROWSER_TEST_LOGIN_SECRET = secret
    settings.BROWSER_TEST_LOGIN_USER = "browser-leader"
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE,
        "tests.analytics.browser_login.BrowserTestLoginMiddleware",
    ]
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]
    server = LiveServer("localhost")
    try:
        yield server, secret
    finally:
        server.stop()


@pytest.mark.services
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_campaign_dashboard_renders_charts(browser_login_server, settings, tmp_path):
    binary = chromium_binary()
    from analytics.demo import RUNNING_SLUG, load_analytics_demo
    from campaigns.demo import load_campaigns_demo
    from campaigns.models import Campaign
    from channels.demo import load_channels_demo
    from content.demo import load_content
    from content.roles import LEADERSHIP, sync_role_permissions
    from tests.factories import UserFactory

    live_server, secret = browser_login_server
    settings.VAR_DIR = tmp_path
    load_content()
    load_campaigns_demo()
    load_channels_demo()
    counts = load_analytics_demo()
    assert counts["events"] > 300
    Group.objects.get_or_create(name=LEADERSHIP)
    sync_role_permissions()
    UserFactory(username="browser-leader", groups=[LEADERSHIP])

    campaign = Campaign.objects.get(slug=RUNNING_SLUG)
    url = f"{live_server.url}/admin/dashboards/campaign/{campaign.pk}/?test-login={secret}"

    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    screenshot = SCREENSHOT_DIR / "campaign_dashboard.png"
    screenshot.unlink(missing_ok=True)
    shot = run_chromium(binary, url, f"--screenshot={screenshot}")
    assert screenshot.exists(), shot.stderr[-2000:]
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 30_000  # a blank page compresses to a few KB

    dom = run_chromium(binary, url, "--dump-dom").stdout
    assert "Winter sale 2026" in dom, dom[:2000]
    # Over time, by channel, the SEO trend and the conversions trend.
    assert 'data-charts-rendered="4"' in dom
    points = [int(n) for n in re.findall(r'data-chart-points="(\d+)"', dom)]
    assert len(points) == 4 and all(n > 0 for n in points), points
    assert dom.count("<canvas") >= 4
