"""Fixtures of the browser journeys: a live server, Celery running for real beside it, a
loopback SMTP server, users per role in each language, and a Chromium per test.

Why a real worker and not CELERY_TASK_ALWAYS_EAGER: eager tasks run inside the request
that enqueued them, so a whole email send would finish before the page that started it
answered, and the progress a person watches (and pauses) would never be seen moving. Here
the producer and a worker thread share Celery's in-memory broker, a "beat" thread sends
the dispatcher's task every second as Celery beat does, and email batches chain
themselves through the broker exactly as in production.
"""

import io
import os
import socket
import threading

import pytest
from aiosmtpd.controller import Controller
from django.contrib.auth.models import Group, Permission
from pytest_django.live_server_helper import LiveServer

from content.roles import EDITORS, LEADERSHIP, MARKETERS, MODERATORS
from tests.channels.email.conftest import RecordingHandler
from tests.factories import UserFactory

from .harness import LANGUAGES, PASSWORD, Journey, chromium_path

# The role a journey plays, and the groups (and extra permissions) that make it.
ROLES = {
    "editor": ([EDITORS], []),
    "moderator": ([MODERATORS], []),
    "marketer": ([MARKETERS], []),
    # Approving is a separate grant (README, Roles): a marketer who signs campaigns off.
    "approver": ([MARKETERS], [("campaigns", "approve_campaign")]),
    "leadership": ([LEADERSHIP], []),
}


@pytest.fixture(params=LANGUAGES)
def lang(request):
    return request.param


@pytest.fixture
def journey_server(settings, transactional_db):
    """A live server of our own, started after the settings below.

    pytest-django's `live_server` is session-scoped and builds its handler once;
    depending on `transactional_db` stops this one before the database is flushed.
    The CI machine has no way out: avatars come from no third party (a failed gravatar
    load is a console error).
    """
    settings.WAGTAIL_GRAVATAR_PROVIDER_URL = None
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]
    server = LiveServer("localhost")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def demo_content(journey_server):
    """The demo site, through the same loader as `manage.py load_demo`."""
    from content.demo import load_content

    load_content()


@pytest.fixture
def demo_analytics(demo_content, settings, tmp_path):
    """The whole demo (`manage.py load_demo`): its campaigns are published and sent by
    the real pipeline, so they need its people, lists and accounts. The demo logins go
    to a temporary var/, never the developer's."""
    from django.core.management import call_command

    settings.VAR_DIR = tmp_path
    call_command("load_demo", stdout=io.StringIO())


@pytest.fixture
def make_user(journey_server):
    """A user in `role` whose admin language is `lang` (Wagtail's UserProfile)."""
    from wagtail.users.models import UserProfile

    def make(role: str, lang: str = "en", username: str | None = None):
        groups, perms = ROLES[role]
        for name in groups:
            Group.objects.get_or_create(name=name)
        user = UserFactory(
            username=username or f"{role}-{lang}",
            groups=groups,
        )
        user.set_password(PASSWORD)
        user.save()
        for app_label, codename in perms:
            user.user_permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        profile = UserProfile.get_for_user(user)
        profile.preferred_language = lang
        profile.save()
        return user

    return make


@pytest.fixture
def browser(transactional_db):
    """Chromium, launched by path, for one test.

    Playwright's sync API runs an event loop in this thread, which Django takes for async
    code and so refuses the test's own (plain, sync) database calls; the variable says
    they are safe. Per test, not per session, so the loop is gone (and the variable
    restored) before the database is flushed and before any other test runs.
    """
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=executable, args=["--no-sandbox", "--disable-dev-shm-usage"]
            )
            try:
                yield chromium
            finally:
                chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def open_journey(browser, journey_server):
    """`open_journey(role, lang, part="")` -> a Journey on a fresh browser context. At teardown
    the test fails on any console error or uncaught page error, listing them."""
    opened: list[tuple[object, Journey]] = []

    def open_(role: str, lang: str, part: str = "") -> Journey:
        context = browser.new_context(
            viewport={"width": 1400, "height": 1000},
            locale="zh-CN" if lang.startswith("zh") else "en-US",
            timezone_id="Asia/Shanghai",
        )
        journey = Journey(context.new_page(), journey_server.url, role, lang, part)
        opened.append((context, journey))
        return journey

    yield open_
    errors = [f"[{j.role}-{j.lang}] {e}" for _c, j in opened for e in j.console_errors]
    defects = [f"[{j.role}-{j.lang}] {d}" for _c, j in opened for d in j.defects]
    for context, _journey in opened:
        context.close()
    report = []
    if errors:
        report.append("browser errors during the journey:\n" + "\n".join(errors))
    if defects:
        report.append("steps that did not do what they should:\n" + "\n".join(defects))
    if report:
        pytest.fail("\n".join(report), pytrace=False)


@pytest.fixture
def smtp_server():
    """A real SMTP server on loopback; the handler records every accepted message."""
    handler = RecordingHandler()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port, decode_data=False)
    controller.start()
    try:
        yield controller, handler
    finally:
        controller.stop()


@pytest.fixture
def celery_running(journey_server, monkeypatch):
    """A Celery worker thread on the in-memory broker, and a beat thread that sends the
    dispatcher's task every second (CELERY_BEAT_SCHEDULE's "campaigns-dispatch")."""
    from celery.contrib.testing.worker import start_worker
    from django.db import connections

    from campaigns.tasks import dispatch_due_publications_task
    from config.celery import app

    # Celery reads CELERY_BROKER_URL from the environment before its own setting (CI
    # sets it): without this the worker would listen on CI's broker.
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    monkeypatch.setattr(app.conf, "broker_url", "memory://")
    monkeypatch.setattr(app.conf, "broker_transport_options", {})
    monkeypatch.setattr(app.conf, "task_always_eager", False)
    monkeypatch.setattr(app.conf, "task_default_queue", f"journeys-{os.getpid()}")
    stop = threading.Event()

    def beat():
        try:
            while not stop.wait(1.0):
                dispatch_due_publications_task.delay()
        finally:
            connections.close_all()

    fresh_pools(app)
    with start_worker(
        app, pool="threads", concurrency=2, perform_ping_check=False, shutdown_timeout=20
    ):
        ticker = threading.Thread(target=beat, name="journey-beat", daemon=True)
        ticker.start()
        try:
            yield app
        finally:
            stop.set()
            ticker.join(5)
    fresh_pools(app)


def fresh_pools(app):
    """A worker's shutdown closes the app's connection pools (an earlier test's worker
    leaves them closed: "Acquire on closed pool"), and they were made for its broker;
    Celery also caches the queues and router of the default queue it first saw. Start
    from new ones, on the broker and queue configured now."""
    from kombu import pools

    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None
    app.amqp._rtable = None
    for cached in ("queues", "default_queue", "router"):
        app.amqp.__dict__.pop(cached, None)


# -- what several of the marketer's parts start from ------------------------------------

READERS = 120
TEAM_ZONE = "Asia/Shanghai"


@pytest.fixture
def team_zone(journey_server):
    """Settings > Team settings: the team works in Shanghai. Saved before the users are
    made, so each new user's admin zone is the team's too (campaigns.team)."""
    from campaigns.models import TeamSettings

    team = TeamSettings.load()
    team.time_zone = TEAM_ZONE
    team.save()
    return TEAM_ZONE


@pytest.fixture
def news_list(journey_server):
    from tests.campaigns.audiences.factories import MailingListFactory, subscribe_many

    mailing_list = MailingListFactory(slug="news", name="News")
    subscribe_many(mailing_list, READERS, prefix="reader")
    return mailing_list


@pytest.fixture
def smtp_account(smtp_server, news_list):
    """The SMTP account the marketer's form makes (test_marketer), made directly for
    the parts that only use it: the loopback server, sending 10 messages a batch."""
    from tests.factories import ChannelAccountFactory

    controller, _handler = smtp_server
    return ChannelAccountFactory(
        kind="email/smtp",
        name="Newsletter SMTP",
        is_internal=True,  # the loopback server, which the SSRF guard refuses otherwise
        settings={
            "host": "127.0.0.1",
            "port": controller.port,
            "security": "none",
            "from_name": "Hub News",
            "from_email": "news@hub.example.com",
            "postal_address": "1 Example Street, Springfield",
            "default_list": news_list.slug,
            "batch_size": 10,
        },
    )
