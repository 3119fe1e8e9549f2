"""An external goal in a real browser (issue 20): a reader clicks a campaign's tracked
forum link, lands on the company's shop (another origin) which carries the goal's
script, orders, and the order page's script reports the conversion to the hub's pixel
with the click id the landing page kept. The conversion is credited to that forum link,
and neither page logs a console error."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from analytics import attribution, rollups
from analytics.conversions import forget_goals
from analytics.links import get_or_create_tracked_link
from analytics.models import Event, Goal
from tests.factories import (
    CampaignFactory,
    ChannelAccountFactory,
    PublicationFactory,
    make_blog,
    make_post,
)

pytestmark = pytest.mark.django_db(transaction=True)

CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/140.0.0.0 Safari/537.36"
)


def shop_server(hub_url: str, key: str):
    """The company's shop on another origin: a landing page with the goal's script and
    an order page that converts."""
    pages = {
        "/landing": f'<script src="{hub_url}/c/{key}.js" async></script>',
        "/order": (
            f'<script src="{hub_url}/c/{key}.js" data-convert data-value="99.00" '
            'data-currency="CNY" data-order="SHOP-1" async></script>'
        ),
    }

    class Shop(BaseHTTPRequestHandler):
        def do_GET(self):
            body = pages.get(self.path.split("?")[0])
            if body is None:  # the favicon: nothing, and no error in the console
                self.send_response(204)
                self.end_headers()
                return
            html = f"<!doctype html><title>Shop</title><h1>Shop</h1>{body}".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(html)))
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Shop)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_the_goal_script_reports_an_order_credited_to_the_forum_link(
    browser, journey_server, settings, home_page
):
    settings.SITE_BASE_URL = journey_server.url
    settings.REDIS_URL = ""  # stored as they arrive
    settings.ANALYTICS_REDIS_URL = ""
    campaign = CampaignFactory()
    forum = PublicationFactory(
        campaign=campaign,
        page=make_post(make_blog(home_page)),
        channel_account=ChannelAccountFactory(kind="forum/discourse"),
    )
    goal = Goal.objects.create(
        campaign=campaign, name="Order", kind=Goal.Kind.EXTERNAL, site_hosts="127.0.0.1"
    )
    forget_goals()
    shop = shop_server(journey_server.url, goal.key)
    try:
        shop_url = f"http://127.0.0.1:{shop.server_address[1]}"
        link = get_or_create_tracked_link(f"{shop_url}/landing", publication=forum)

        # A reader's browser: headless Chromium's own user agent is classed as a bot,
        # and a bot's click earns nothing.
        page = browser.new_context(user_agent=CHROME).new_page()
        errors = []
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda e: errors.append(str(e)))

        page.goto(f"{journey_server.url}/t/{link.code}")
        assert page.url.startswith(f"{shop_url}/landing?") and "ch_click=" in page.url
        page.wait_for_function("() => !!localStorage.getItem('hub_ch_clicks')")
        page.goto(f"{shop_url}/order")
        deadline = time.monotonic() + 20
        while not Event.objects.filter(kind="conversion").exists():
            assert time.monotonic() < deadline, "the order page reported no conversion"
            time.sleep(0.2)
        page.wait_for_load_state("networkidle")
        assert errors == []
    finally:
        shop.shutdown()

    conversion = Event.objects.get(kind="conversion")
    assert (conversion.goal_id, conversion.order_id, conversion.value_cents) == (
        goal.pk,
        "SHOP-1",
        9900,
    )
    assert (conversion.channel, conversion.link_id) == ("forum", link.pk)
    rollups.update_rollups(now=timezone.now() + timezone.timedelta(days=1))
    today = timezone.now().date()
    (credit,) = attribution.credit(campaign.pk, today, today, "last")
    assert (credit.channel, credit.link_id, credit.conversions) == ("forum", link.pk, 1.0)
    assert str(credit.value) == "99.00"
