"""A reader on a partner's site subscribes through our form embedded in the partner's
page (an iframe from another site, in a real Chromium): the form shows, posts and
thanks the reader inside the frame, with no browser error; a Celery worker then
subscribes the address and mails one confirmation."""

import http.server
import threading
import time

import pytest
from django.core import mail

from campaigns.audiences.models import Subscription
from tests.campaigns.audiences.factories import MailingListFactory


def _partner(frame_url: str):
    class Partner(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the name http.server calls
            body = (
                "<!doctype html><title>Partner</title><h1>Partner magazine</h1>"
                f'<iframe title="Newsletter" src="{frame_url}" width="600" height="500"></iframe>'
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return Partner


@pytest.fixture
def partner_site(journey_server):
    """The partner's site on 127.0.0.1: another site than our `localhost`, so the frame
    is a third-party one (no cookies of ours are sent from it)."""
    handler = _partner(f"{journey_server.url}/subscribe/news/")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_reader_subscribes_through_the_form_embedded_on_a_partner_site(
    settings, journey_server, browser, partner_site, celery_running
):
    settings.SITE_BASE_URL = journey_server.url
    MailingListFactory(slug="news", name="News", is_public=True)
    context = browser.new_context()
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(partner_site)
    frame = page.frame_locator('iframe[title="Newsletter"]')
    frame.get_by_label("Email address").fill("reader@example.org")
    frame.get_by_role("button", name="Subscribe").click()
    frame.get_by_role("status").filter(has_text="check your inbox").wait_for()
    context.close()
    assert errors == []

    deadline = time.monotonic() + 15
    while not mail.outbox and time.monotonic() < deadline:
        time.sleep(0.2)
    subscription = Subscription.objects.get(subscriber__email="reader@example.org")
    assert subscription.status == Subscription.Status.PENDING
    assert [m.to for m in mail.outbox] == [["reader@example.org"]]
