"""E-zine: hostile partner feeds, skipped runs, and a full run to the inbox."""

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import lxml.html
import pytest

from channels.email import services as email_services
from channels.email.models import Delivery, EmailSend
from channels.ezine import feeds, services
from channels.ezine.models import EZine, EZineRun, PartnerFeed
from content.models import EZineIssuePage
from tests.channels.ezine.conftest import publish_due
from tests.factories import (
    make_blog,
    make_post,
)

CORPUS_DIRS = ["illformed", "encoding", "wellformed/sanitize"]
DANGEROUS_SCHEMES = ("javascript:", "vbscript:", "data:")


def assert_safe(html: str, where: str = ""):
    if not html.strip():
        return
    assert "<script" not in html.lower(), where
    doc = lxml.html.fromstring(f"<div>{html}</div>")
    for el in doc.iter():
        if not isinstance(el.tag, str):
            continue
        assert el.tag not in ("script", "iframe", "object", "embed", "style"), where
        for name, value in el.attrib.items():
            assert not name.lower().startswith("on"), (where, name)
            v = re.sub(r"[\s\x00-\x1f]", "", value).lower()
            assert not v.startswith(DANGEROUS_SCHEMES), (where, name, value)


def test_every_corpus_feed_goes_through_safely(corpora):
    files = [
        p
        for d in CORPUS_DIRS
        for p in sorted((corpora / "feedparser" / d).rglob("*"))
        if p.is_file()
    ]
    assert len(files) > 800
    parsed = broken = 0
    for path in files:
        try:
            items = feeds.parse_feed(path.read_bytes())
        except feeds.FeedError:
            broken += 1  # reported and skipped by the caller
            continue
        parsed += 1
        for item in items:
            assert item.link == "" or item.link.startswith(("http://", "https://"))
            assert_safe(feeds.item_html(item, "Partner"), str(path))
    assert parsed > 600


def test_feed_bytes_are_never_opened_as_a_path(tmp_path):
    secret = tmp_path / "secret.xml"
    secret.write_text("<rss><channel><item><title>LEAK</title></item></channel></rss>")
    items = []
    try:
        items = feeds.parse_feed(str(secret).encode())
    except feeds.FeedError:
        pass
    assert all(i.title != "LEAK" for i in items)


class FeedServer:
    def __init__(self, routes):
        routes_ = routes

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                status, body = routes_.get(self.path, (404, b"nope"))
                self.send_response(status)
                self.send_header("Content-Type", "application/rss+xml")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


HOSTILE = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>P</title>
<item><title>Partner &lt;script&gt;alert(1)&lt;/script&gt; news</title>
<link>javascript:alert(1)</link>
<description>&lt;p onclick="x()"&gt;Hi&lt;a href="javascript:alert(2)"&gt;x&lt;/a&gt;&lt;script&gt;bad()&lt;/script&gt;&lt;/p&gt;</description></item>
<item><title>Good</title><link>https://partner.example.com/a</link><description>Fine</description></item>
</channel></rss>"""


@pytest.mark.django_db
def test_run_with_nothing_new_is_skipped_and_says_so(ezine_setup, no_celery):
    ezine, handler = ezine_setup
    run = services.run_ezine(ezine.pk)
    assert run.outcome == EZineRun.Outcome.SKIPPED and "Nothing new" in run.message
    assert not EZineIssuePage.objects.exists() and not handler.messages


@pytest.mark.django_db
def test_full_run_publishes_and_emails_with_broken_and_hostile_feeds(
    ezine_setup, no_celery, home_page
):
    ezine, handler = ezine_setup
    blog = make_blog(home_page)
    make_post(blog, title="Fresh article")
    server = FeedServer({"/hostile.xml": (200, HOSTILE), "/broken.xml": (500, b"")})
    try:
        PartnerFeed.objects.create(
            ezine=ezine, name="Hostile", url=server.url + "/hostile.xml", is_internal=True
        )
        PartnerFeed.objects.create(
            ezine=ezine, name="Broken", url=server.url + "/broken.xml", is_internal=True
        )
        # Not marked internal: the SSRF guard refuses loopback.
        PartnerFeed.objects.create(ezine=ezine, name="Guarded", url=server.url + "/hostile.xml")
        run = services.run_ezine(ezine.pk)
    finally:
        server.close()
    assert run.outcome == EZineRun.Outcome.ISSUED
    assert {e["feed"] for e in run.feed_errors} == {"Broken", "Guarded"}
    assert "not a public address" in PartnerFeed.objects.get(name="Guarded").last_error

    issue = EZineIssuePage.objects.get()
    assert issue.live and issue.issue_number == 1
    # The run hands the issue to the publishing pipeline: due now, sent by the dispatcher.
    assert run.publication.page_id == issue.pk and run.publication.status == "scheduled"
    assert not EmailSend.objects.filter(frozen_at__isnull=False).exists()
    assert publish_due() == ["published"]
    page_html = "".join(str(block.render()) for block in issue.body)
    assert "Fresh article" in page_html and "Good" in page_html
    assert_safe(page_html, "issue page")

    send = EmailSend.objects.get()
    assert send.mailing_list == ezine.mailing_list
    for _ in range(5):
        email_services.send_next_batch(send.pk)
    assert Delivery.objects.filter(status="sent").count() == 3
    import email as email_lib
    import email.policy

    msg = email_lib.message_from_bytes(handler.messages[0][1], policy=email.policy.default)
    html = msg.get_body(("html",)).get_content()
    assert "Fresh article" in html
    body_only = html.split("<body", 1)[1]
    assert_safe(body_only, "email")
    assert send.publication.status == "published"

    # Right away the e-zine is not due; at its next run there is nothing new.
    assert services.run_ezine(ezine.pk) is None
    ezine.refresh_from_db()
    again = services.run_ezine(ezine.pk, now=ezine.next_run_at)
    assert again.outcome == EZineRun.Outcome.SKIPPED


@pytest.mark.django_db
def test_atom_feed_lists_issues(ezine_setup, no_celery, home_page, client):
    ezine, _handler = ezine_setup
    make_post(make_blog(home_page), title="For the feed")
    services.run_ezine(ezine.pk)
    publish_due()
    response = client.get(f"/ezine/{ezine.page.pk}/atom/")
    assert response.status_code == 200
    assert b"<feed" in response.content and b"Weekly #1" in response.content


def test_cadence_next_run():
    import datetime

    ezine = EZine(cadence="FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0")
    after = datetime.datetime(2026, 11, 22, 8, 0, tzinfo=datetime.UTC)  # a Sunday
    assert services.next_run_after(ezine, after) == datetime.datetime(
        2026, 11, 23, 9, 0, tzinfo=datetime.UTC
    )
