"""Every absolute URL we render names the address the site is served on (issue 17, 7).

With BASE_URL = http://127.0.0.1:8100 and the Wagtail Site synced by `ensure_site` (as
`WEB_PORT=8100 make run` does), the hub pages, sitemap, robots, feeds, a sent email, a
manual placement's copy and the admin's "view live" link are rendered; every URL in them
(attributes and text, HTML and XML parsed) whose host is one of ours must be
http://127.0.0.1:8100. Requests come in as `localhost:8100`, a Host a visitor may well
type: a URL built from the request instead of BASE_URL shows up as a failure.
"""

import email
import email.policy
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import lxml.etree
import lxml.html
import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from wagtail.models import Site

from analytics.models import TrackedLink
from channels.models import ManualPlacementTask
from channels.registry import get_adapter
from content.models import (
    BlogIndexPage,
    BlogPostPage,
    EmailIssuePage,
    EZineIssuePage,
    EZinePage,
    HomePage,
    SoftArticlePage,
)
from tests.campaigns.audiences.factories import MailingListFactory, subscribe_many
from tests.channels.email.conftest import (  # noqa: F401 - fixtures
    drain,
    no_celery,
    publish,
    smtp_server,
)
from tests.factories import ChannelAccountFactory, PublicationFactory, UserFactory

ROOT = Path(__file__).resolve().parents[2]
SERVED = "http://127.0.0.1:8100"
# Hosts that can only mean this machine, or us: any URL on one must be SERVED exactly.
OURS = {"localhost", "127.0.0.1", "0.0.0.0", "::1", "testserver", "[::1]"}
URL_RE = re.compile(r"""https?://[^\s"'<>()\\]+""")

pytestmark = pytest.mark.django_db


def absolute_urls(text: str, kind: str = "text") -> list[str]:
    """Every absolute URL in `text`: for HTML and XML, in each attribute value and text
    node of the parsed document (so entities are decoded); else in the text itself."""
    if kind == "text":
        return URL_RE.findall(text)
    if kind == "html":
        root = lxml.html.document_fromstring(text)
    else:
        root = lxml.etree.fromstring(text.encode())
    found = []
    for node in root.iter():
        if not isinstance(node.tag, str):  # comments, processing instructions
            continue
        for value in [*node.attrib.values(), node.text or "", node.tail or ""]:
            found += URL_RE.findall(value)
    return found


def wrong_urls(urls) -> list[str]:
    """URLs on one of our hosts that are not on the served scheme, host and port."""
    served = urlsplit(SERVED)
    bad = []
    for url in urls:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if host in OURS or host.endswith(".localhost") or host == served.hostname:
            if (parts.scheme, host, parts.port) != (served.scheme, served.hostname, served.port):
                bad.append(url)
    return bad


@pytest.fixture(autouse=True)
def private_cache(settings):
    """Wagtail caches the sites' root paths (every page URL is built from them) in the
    default cache, which under CI is a Redis that other test runs share: their paths
    would make our pages unroutable here. Each test gets its own."""
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"urls-served-{uuid.uuid4().hex}",
        },
    }


@pytest.fixture
def served(settings):
    """The settings `WEB_PORT=8100 make run` gives every process, and the Site synced."""
    settings.BASE_URL = settings.SITE_BASE_URL = settings.WAGTAILADMIN_BASE_URL = SERVED
    from content.demo import load_content

    load_content()
    call_command("ensure_site", stdout=open("/dev/null", "w"))  # noqa: SIM115
    return Client(HTTP_HOST="localhost:8100")


def get(client, path) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.content.decode()


def test_the_checker_sees_localhost_and_other_ports():
    html = (
        '<link rel="canonical" href="http://localhost/blog/">'
        '<a href="http://127.0.0.1:8000/t/abc">x</a><a href="https://example.com/">ok</a>'
        f'<img src="{SERVED}/media/a.png"><p>see http://testserver/x</p>'
    )
    assert wrong_urls(absolute_urls(html, "html")) == [
        "http://localhost/blog/",
        "http://127.0.0.1:8000/t/abc",
        "http://testserver/x",
    ]


def test_an_unsynced_site_is_caught(settings):
    """Without `ensure_site` the migrations' localhost:80 Site shows on the hub: the
    failure the test below exists to catch."""
    settings.BASE_URL = settings.SITE_BASE_URL = settings.WAGTAILADMIN_BASE_URL = SERVED
    from content.demo import load_content

    load_content()
    assert Site.objects.get(is_default_site=True).root_url == "http://localhost"
    post = BlogPostPage.objects.live().first()
    html = get(Client(HTTP_HOST="127.0.0.1:8100"), post.url)
    assert "http://localhost/" in " ".join(wrong_urls(absolute_urls(html, "html")))


def test_hub_pages_sitemap_robots_and_feeds_link_to_the_served_address(served):
    blog = BlogIndexPage.objects.live().first()
    ezine = EZinePage.objects.live().first()
    pages = [
        HomePage.objects.live().first(),
        blog,
        BlogPostPage.objects.live().first(),
        SoftArticlePage.objects.live().first(),
        EmailIssuePage.objects.live().first(),
        ezine,
        EZineIssuePage.objects.live().first(),
    ]
    documents = {page.url: (get(served, page.url), "html") for page in pages}
    documents["/sitemap.xml"] = (get(served, "/sitemap.xml"), "xml")
    documents["/robots.txt"] = (get(served, "/robots.txt"), "text")
    for feed in (f"{blog.url}rss/", f"{blog.url}atom/", f"/ezine/{ezine.pk}/atom/"):
        documents[feed] = (get(served, feed), "xml")

    problems = {}
    for path, (body, kind) in documents.items():
        if bad := wrong_urls(absolute_urls(body, kind)):
            problems[path] = bad
    assert not problems, problems
    # The ones that must be absolute are, and on the served address.
    post = pages[2]
    assert f'<link rel="canonical" href="{SERVED}{post.url}">' in documents[post.url][0]
    assert f"{SERVED}{post.url}" in documents["/sitemap.xml"][0]
    assert f"Sitemap: {SERVED}/sitemap.xml" in documents["/robots.txt"][0]


def test_a_sent_email_links_to_the_served_address(served, smtp_server, no_celery):  # noqa: F811
    controller, handler = smtp_server
    mailing_list = MailingListFactory(slug="news", name="News")
    subscribe_many(mailing_list, 2)
    account = ChannelAccountFactory(
        kind="email/smtp",
        is_internal=True,  # the loopback mail server is allowed only to internal accounts
        settings={
            "host": "127.0.0.1",
            "port": controller.port,
            "security": "none",
            "from_name": "Hub News",
            "from_email": "news@hub.example.com",
            "postal_address": "1 Example Street, Springfield",
            "default_list": mailing_list.slug,
            "batch_size": 10,
        },
    )
    page = EmailIssuePage.objects.live().first()
    drain(publish(PublicationFactory(page=page, channel_account=account)))
    assert len(handler.messages) == 2
    _rcpts, raw = handler.messages[0]
    message = email.message_from_bytes(raw, policy=email.policy.default)
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    urls = absolute_urls(html, "html") + absolute_urls(text) + absolute_urls(str(message))
    assert any(u.startswith(f"{SERVED}/t/") for u in urls), "no tracked link in the mail"
    # "View in browser" is a tracked link too: to the hub page on the served address.
    assert TrackedLink.objects.filter(original_url=f"{SERVED}{page.url}").exists()
    assert not wrong_urls(urls), wrong_urls(urls)


def test_a_manual_placement_copy_links_to_the_served_address(served):
    assignee = UserFactory(username="placer", email="placer@example.com")
    account = ChannelAccountFactory(
        kind="manual/placement", settings={"site_name": "Zhihu", "overdue_after_hours": 24}
    )
    post = SoftArticlePage.objects.live().first()
    publication = PublicationFactory(page=post, channel_account=account, created_by=assignee)
    adapter = get_adapter(account)
    with pytest.MonkeyPatch.context() as patch:
        # The assignee's notice is sent after commit; this test runs in one transaction.
        patch.setattr("django.db.transaction.on_commit", lambda fn, **kw: fn())
        adapter.publish(publication, adapter.render(publication))
    task = ManualPlacementTask.objects.get(publication=publication)
    urls = (
        absolute_urls(task.body_html, "html")
        + absolute_urls(task.body_markdown)
        + absolute_urls(task.body_text)
        + list(task.links)
        + [u for m in mail.outbox for u in absolute_urls(m.body)]
    )
    assert any(u.startswith(f"{SERVED}/t/") for u in urls), "no tracked link in the copy"
    assert any(u.startswith(f"{SERVED}/admin/channels/tasks/") for u in urls), "no task link"
    assert not wrong_urls(urls), wrong_urls(urls)


def test_the_admin_view_live_link_opens_the_served_page(served):
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    served.force_login(admin)
    post = BlogPostPage.objects.live().first()
    blog = BlogIndexPage.objects.live().first()
    problems = {}
    live = []
    # The explorer's "View live" (each row's menu) and the editor around it.
    for path in (f"/admin/pages/{blog.pk}/", f"/admin/pages/{post.pk}/edit/"):
        html = get(served, path)
        doc = lxml.html.document_fromstring(html)
        live += [
            a.get("href")
            for a in doc.iter("a")
            if " ".join(a.text_content().split()).lower() == "view live"
        ]
        if bad := wrong_urls(absolute_urls(html, "html")):
            problems[path] = bad
    assert post.url in live or f"{SERVED}{post.url}" in live, live
    # Relative on a single-site hub (the browser stays on the address it is on) or
    # absolute on the served address; never localhost or another port.
    assert all(h.startswith("/") or h.startswith(SERVED + "/") for h in live), live
    assert not problems, problems


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"WEB_PORT": "8100"}, "http://127.0.0.1:8100"),
        ({"WEB_HOST": "0.0.0.0", "WEB_PORT": "8200"}, "http://127.0.0.1:8200"),
        ({"WEB_PORT": "8100", "BASE_URL": "https://hub.example.com/"}, "https://hub.example.com"),
    ],
)
def test_every_process_derives_base_url_from_the_port_served(env, expected):
    """What web, worker and beat compute from the environment `make run` gives them."""
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.BASE_URL, s.SITE_BASE_URL, s.WAGTAILADMIN_BASE_URL)"
    )
    clean = {k: v for k, v in os.environ.items() if k not in ("BASE_URL", "WEB_HOST", "WEB_PORT")}
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, **env, "DJANGO_SETTINGS_MODULE": "config.settings.dev"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out == [expected] * 3
    procfile = (ROOT / "Procfile").read_text()
    assert "runserver ${WEB_HOST:-127.0.0.1}:${WEB_PORT:-8000}" in procfile


def test_ensure_site_is_idempotent_and_refuses_what_wagtail_cannot_serve(settings):
    from django.core.management.base import CommandError

    settings.BASE_URL = "https://hub.example.com"
    call_command("ensure_site", stdout=open("/dev/null", "w"))  # noqa: SIM115
    call_command("ensure_site", stdout=open("/dev/null", "w"))  # noqa: SIM115
    site = Site.objects.get(is_default_site=True)
    assert (site.hostname, site.port, site.root_url) == (
        "hub.example.com",
        443,
        "https://hub.example.com",
    )
    assert Site.objects.count() == 1
    settings.BASE_URL = "https://hub.example.com:8443"
    with pytest.raises(CommandError, match="443"):
        call_command("ensure_site")
