"""Creating a page in a real browser leaves exactly one page, never twins or orphans.

Wagtail 8 autosaves forms; on "add page" its first autosave created the page while a
Save typed right after it created it again (twin drafts), and an add form left after
typing kept the page its autosave had made (an orphan). Here Chromium, driven by
Playwright, types at a person's pace and at full speed, presses Save at once or twice,
and walks away from a half-typed form; any JavaScript error fails the test."""

import os
import re
import shutil
from pathlib import Path

import pytest
from django.test import Client

from content.models import BlogPostPage
from tests.conftest import missing_service
from tests.factories import UserFactory, make_blog

SCREENSHOT_DIR = Path(__file__).resolve().parent.parent.parent / "var" / "screenshots"

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def browser(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the test's own ORM
    # calls are still synchronous, which Django would otherwise refuse.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing_service("Playwright for Python (pip install playwright)")
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(chromium):
        missing_service("chromium (apt-get install -y chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def editor_page(browser, live_server, home_page, settings):
    """A browser tab signed in as an editor, and the blog to add posts to. Every console
    error and uncaught exception in the tab is collected, and fails the test."""
    # This machine has no way out to the internet: no avatars from gravatar.com, whose
    # failed loads would otherwise be console errors that say nothing about the form.
    settings.WAGTAIL_GRAVATAR_PROVIDER_URL = None
    blog = make_blog(home_page)
    editor = UserFactory(username="browser-editor", groups=["Editors"])
    client = Client()
    client.force_login(editor)
    context = browser.new_context(locale="en-US", viewport={"width": 1440, "height": 1000})
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page = context.new_page()
    errors = []
    page.on(
        "console",
        lambda msg: msg.type == "error" and errors.append(f"{msg.text} ({msg.location['url']})"),
    )
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # Leaving a form with unsaved edits asks "leave the page?"; the person says yes.
    page.on("dialog", lambda dialog: dialog.accept())
    yield page, blog, live_server.url
    context.close()
    assert errors == [], errors


def add_form(page, base, blog):
    page.goto(f"{base}/admin/pages/add/content/blogpostpage/{blog.pk}/")
    page.wait_for_selector("#id_title")


def wait_for_edit_form(page):
    """Until the tab shows the new page's edit form. Polled rather than awaited as a
    navigation: a Save pressed within milliseconds of loading may have navigated
    before Playwright starts listening. Generous: this machine's cores are shared."""
    for _ in range(360):
        if re.search(r"/admin/pages/\d+/edit/", page.url):
            page.wait_for_load_state("domcontentloaded")
            return
        page.wait_for_timeout(250)
    screenshot(page, "drafts_no_edit_form.png")
    raise AssertionError(f"still at {page.url} after Save")


def save_button(page):
    return page.locator("footer button.action-save").first


def posts_titled(title):
    return BlogPostPage.objects.filter(title=title)


def screenshot(page, name):
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT_DIR / name), full_page=False)


def test_typing_at_a_human_pace_then_saving_makes_one_page(editor_page):
    page, blog, base = editor_page
    add_form(page, base, blog)
    page.locator("#id_title").press_sequentially("Spring sale at a human pace", delay=120)
    page.locator("#id_excerpt").press_sequentially("Typed slowly.", delay=120)
    page.wait_for_timeout(2500)  # a pause longer than any autosave interval
    assert not posts_titled("Spring sale at a human pace").exists()  # nothing saved yet
    save_button(page).click()
    wait_for_edit_form(page)
    screenshot(page, "drafts_created_once.png")
    assert posts_titled("Spring sale at a human pace").count() == 1

    # Typing on the edit form (where Wagtail's autosave stays on) edits that one page.
    page.locator("#id_author_name").press_sequentially("Ann Editor", delay=80)
    page.wait_for_timeout(2500)
    assert BlogPostPage.objects.count() == 1


def test_typing_at_full_speed_and_saving_at_once_makes_one_page(editor_page):
    page, blog, base = editor_page
    add_form(page, base, blog)
    page.locator("#id_title").press_sequentially("Flash sale", delay=0)
    save_button(page).click()
    wait_for_edit_form(page)
    page.wait_for_timeout(1500)  # room for any request still in flight to land
    assert posts_titled("Flash sale").count() == 1
    assert BlogPostPage.objects.count() == 1


def test_a_double_click_on_save_makes_one_page(editor_page):
    page, blog, base = editor_page
    add_form(page, base, blog)
    page.locator("#id_title").press_sequentially("Double click sale", delay=0)
    save_button(page).dblclick()
    wait_for_edit_form(page)
    page.wait_for_timeout(1500)
    assert posts_titled("Double click sale").count() == 1
    assert BlogPostPage.objects.count() == 1


def test_an_abandoned_add_form_leaves_nothing_behind(editor_page):
    page, blog, base = editor_page
    add_form(page, base, blog)
    page.locator("#id_title").press_sequentially("Never saved", delay=60)
    page.locator("#id_excerpt").press_sequentially("Half a thought", delay=60)
    page.wait_for_timeout(3000)
    page.goto(f"{base}/admin/")
    page.wait_for_selector("main")
    assert not posts_titled("Never saved").exists()
    assert blog.get_children().count() == 0
