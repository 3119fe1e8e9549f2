"""A reader in a real Chromium: arrives on a hub page through a campaign email's link,
clicks the sponsor's call to action, and lands on the sponsor's site; the click is
stored for the page and for the campaign that brought the reader (the browser kept and
sent back the visit cookie the redirect set)."""

import http.server
import threading

import pytest
from wagtail.models import Page, Site

from analytics.links import tracked_url
from analytics.models import Event, TrackedLink
from analytics.visits import VISIT_COOKIE
from content.models import HomePage
from tests.factories import (
    ChannelAccountFactory,
    PublicationFactory,
    make_blog,
    make_email_issue,
    make_post,
)

READER_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/140.0 Safari/537.36"
)


class _Sponsor(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the name http.server calls
        body = b"<!doctype html><title>Sponsor</title><h1>Sponsor shop</h1>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def sponsor_site():
    """The sponsor's site, on 127.0.0.1: another host than the hub's `localhost`."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Sponsor)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_reader_clicks_a_hub_call_to_action_after_a_campaign_email(
    settings, journey_server, browser, sponsor_site
):
    settings.SITE_BASE_URL = journey_server.url
    settings.REDIS_URL = ""  # clicks stored by the request itself: nothing to drain
    root = Page.get_first_root_node()
    home = HomePage(title="Home", slug="hub-home")
    root.add_child(instance=home)
    home.save_revision().publish()
    Site.objects.update_or_create(
        is_default_site=True,
        defaults={"hostname": "localhost", "port": 80, "root_page": home, "site_name": "Hub"},
    )
    post = make_post(
        make_blog(home),
        body=[("call_to_action", {"text": "Visit the sponsor", "url": f"{sponsor_site}/deal"})],
    )
    publication = PublicationFactory(
        page=make_email_issue(home),
        channel_account=ChannelAccountFactory(kind="email/smtp"),
        campaign__slug="newsletter",
    )
    # The email's link to the post, as the email renderer makes it.
    email_link = tracked_url(f"{journey_server.url}{post.url}", publication=publication)

    # Headless Chromium says so in its user agent, and is rightly counted as a bot.
    context = browser.new_context(user_agent=READER_UA)
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(email_link)
    assert page.url.startswith(f"{journey_server.url}{post.url}")
    (cookie,) = [c for c in context.cookies() if c["name"] == VISIT_COOKIE]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"

    cta = page.get_by_role("link", name="Visit the sponsor")
    assert "/t/" in cta.get_attribute("href")
    cta.click()
    page.wait_for_url(f"{sponsor_site}/deal*")
    assert page.get_by_role("heading", name="Sponsor shop").is_visible()
    context.close()
    assert errors == []

    hub_link = TrackedLink.objects.get(channel="hub")
    click = Event.objects.get(kind="click", link_id=hub_link.pk)
    assert (click.campaign_id, click.publication_id, click.page_id, click.is_bot) == (
        publication.campaign_id,
        publication.pk,
        post.pk,
        False,
    )
