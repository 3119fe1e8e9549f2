"""The send panel in a real browser (Playwright driving Debian's chromium by path): the
progress block refreshes itself while the send runs, stops asking once it has finished,
and the page logs no JavaScript error."""

# ruff: noqa: F811 - the email fixtures are imported, then used by name

import shutil
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.urls import reverse

from channels.email import services
from tests.channels.email.conftest import (  # noqa: F401 - fixtures
    email_account,
    email_publication,
    mailing_list,
    make_subscribers,
    no_celery,
    publish,
    smtp_server,
)
from tests.conftest import missing_service

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    missing_service("chromium (apt-get install -y chromium)")


def off_the_loop(fn):
    """Run database work in a thread of its own: Playwright's sync API keeps an event
    loop running in this one, and Django refuses database calls inside a running loop."""
    outcome = {}

    def run():
        try:
            outcome["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def session_cookie(user) -> str:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return session.session_key


@pytest.mark.django_db(transaction=True)
def test_progress_refreshes_itself_until_the_send_finishes(
    live_server, marketer, smtp_server, no_celery, mailing_list, email_publication
):
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    expect = pytest.importorskip("playwright.sync_api").expect
    binary = chromium_path()
    make_subscribers(mailing_list, 25)
    send = publish(email_publication)
    services.send_next_batch(send.pk)  # 10 of 25
    errors: list[str] = []
    progress_calls: list[str] = []
    url = live_server.url + reverse("email_overview", args=[email_publication.pk])
    cookie = session_cookie(marketer)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=binary, args=["--no-sandbox"])
        context = browser.new_context()
        context.add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": cookie,
                    "url": live_server.url,
                }
            ]
        )
        # Nothing leaves the machine: the admin's avatar (Gravatar, by default) is
        # answered empty here, so the test needs no network and tests only our page.
        context.route(
            lambda u: not u.startswith(live_server.url),
            lambda route: route.fulfill(status=204, body=""),
        )
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("requestfailed", lambda r: errors.append(f"failed: {r.url}"))
        page.on(
            "request", lambda r: progress_calls.append(r.url) if "/progress/" in r.url else None
        )
        page.goto(url)
        assert page.locator("[data-figure=sent]").inner_text() == "10"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "send-panel.png"), full_page=True)

        off_the_loop(lambda: services.send_next_batch(send.pk))  # 20 of 25, page open
        # Locator assertions, not wait_for_function: that evaluates a string in the page,
        # which the admin's Content-Security-Policy (no 'unsafe-eval') refuses.
        expect(page.locator("[data-figure=sent]")).to_have_text("20", timeout=15000)
        off_the_loop(lambda: services.send_next_batch(send.pk))  # the last 5: finished
        expect(page.locator("[data-send-progress]")).to_have_attribute(
            "data-running", "false", timeout=15000
        )
        assert page.locator("[data-figure=percent]").inner_text() == "100 %"
        calls_when_finished = len(progress_calls)
        time.sleep(4)  # longer than the polling interval
        assert len(progress_calls) == calls_when_finished
        browser.close()

    assert errors == []
