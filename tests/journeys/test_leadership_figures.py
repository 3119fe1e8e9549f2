"""Leadership reads figures they can trust (issue 17, "Done means"): after a real email
send through the real fan-out to a loopback SMTP server, real opens and clicks through
the /t/ URLs in the messages received, and a rollup, the home panel, a campaign
dashboard and the overview (reached by clicking) show the figures that the written
definitions (docs/metrics.md) give when computed here from the raw Event rows.
"""

import datetime
import email
import email.policy
import html
import http.client
import re
import time
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from analytics.draining import drain_event_queue
from analytics.metrics import METRIC_COLUMNS, as_percent
from analytics.models import Event
from analytics.rollups import update_rollups
from campaigns import services as campaign_services
from campaigns.models import Publication
from channels.email.models import EmailSend

from .conftest import READERS
from .test_marketer_send import approved_campaign, wait_until  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db(transaction=True)

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"
TRACKED = re.compile(r"""(?:href|src)="([^"]*/t/[^"]+)\"""")


def tracked_urls(raw: bytes) -> tuple[list[str], list[str]]:
    """(click URLs, open pixel URLs) of one received message's HTML."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    part = message.get_body(preferencelist=("html",))
    urls = [html.unescape(u) for u in TRACKED.findall(part.get_content())]
    pixels = [u for u in urls if "/t/o/" in u]
    return [u for u in urls if u not in pixels], pixels


def visit(server_url: str, url: str, user_agent: str = FIREFOX) -> int:
    """GET a tracked URL on our live server as a mail client does; the redirect is not
    followed (it leads off this machine)."""
    parts = urlsplit(url)
    server = urlsplit(server_url)
    connection = http.client.HTTPConnection(server.hostname, server.port, timeout=10)
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request("GET", path, headers={"User-Agent": user_agent})
        return connection.getresponse().status
    finally:
        connection.close()


def by_definition(publication) -> dict:
    """The campaign's figures computed from raw events, as docs/metrics.md defines them."""
    events = Event.objects.filter(campaign_id=publication.campaign_id)
    delivered = set(events.filter(kind="delivery").values_list("message_key", flat=True))
    sent = set(events.filter(kind="send").values_list("message_key", flat=True))
    human = events.filter(is_bot=False)
    clickers = set(
        human.filter(kind="click", message_key__in=delivered).values_list("message_key", flat=True)
    )
    openers = clickers | set(
        human.filter(kind="open", message_key__in=delivered).values_list("message_key", flat=True)
    )
    return {
        "sends": len(sent),
        "deliveries": len(delivered),
        "unique_opens": len(openers),
        "unique_clickers": len(clickers),
        "clicks": human.filter(kind="click").count(),
        "opens": human.filter(kind="open").count(),
        "bot_clicks": events.filter(kind="click", is_bot=True).count(),
        "email_ctr": as_percent(len(clickers) / len(delivered)),
        "click_to_open": as_percent(len(clickers) / len(openers)),
        "open_rate": as_percent(len(openers) / len(delivered)),
        "web_click_rate": as_percent(None),
    }


def test_leadership_figures_equal_the_definitions_after_a_real_send(
    open_journey,
    make_user,
    lang,
    approved_campaign,  # noqa: F811 - the fixture imported above
    smtp_server,
    journey_server,
):
    campaign, publication, marketer = approved_campaign
    _controller, handler = smtp_server

    # The send goes out for real: the dispatcher, the Celery worker, the SMTP fan-out.
    campaign_services.schedule_publication(
        Publication.objects.get(pk=publication.pk),
        timezone.now() + datetime.timedelta(seconds=1),
        actor=marketer,
    )
    wait_until(
        lambda: EmailSend.objects.filter(
            publication=publication, status=EmailSend.Status.FINISHED
        ).exists(),
        90,
        "the send to finish",
    )
    assert len(handler.messages) == READERS
    # Readers act a little later than a mail scanner would (analytics.events).
    time.sleep(2.5)

    # Real readers: opens and clicks through the URLs in the messages they received.
    received = [tracked_urls(raw) for _rcpts, raw in handler.messages[:8]]
    for clicks, pixels in received:
        assert clicks and pixels, "every message carries a tracked link and an open pixel"
    server = journey_server.url
    for clicks, _pixels in received[:3]:
        assert visit(server, clicks[0]) == 302
    assert visit(server, received[0][0][0]) == 302  # the same reader clicks again
    for _clicks, pixels in received[1:6]:
        assert visit(server, pixels[0]) == 200
    assert visit(server, received[6][0][0], user_agent="curl/8.5.0") == 302  # a bot
    wait_until(
        lambda: (
            drain_event_queue() >= 0
            and Event.objects.filter(kind__in=("click", "open")).count() >= 10
        ),
        20,
        "the opens and clicks to be stored",
    )
    update_rollups(now=timezone.now() + datetime.timedelta(minutes=5))
    wanted = by_definition(publication)
    assert wanted["deliveries"] == READERS and wanted["unique_clickers"] == 3
    assert wanted["unique_opens"] == 6 and wanted["clicks"] == 4

    make_user("leadership", lang)
    j = open_journey("leadership", lang, "figures")
    j.login(f"leadership-{lang}")

    # The home panel: the same figures, as of the rollup.
    running = j.page.locator("[data-home-panel=running-campaigns]")
    row = running.get_by_role("row").filter(has_text=campaign.name)
    expect(row).to_be_visible()
    cells = row.get_by_role("cell")
    expect(cells.nth(2)).to_have_text(str(wanted["deliveries"]))
    expect(cells.nth(3)).to_have_text(str(wanted["unique_clickers"]))
    expect(cells.nth(4)).to_have_text(wanted["email_ctr"])
    expect(cells.nth(5)).to_have_text(wanted["web_click_rate"])
    expect(j.page.locator("[data-as-of]").first).to_be_visible()

    # The campaign's dashboard, from the Dashboards menu.
    j.click_menu(j.t("Dashboards"))
    j.click_link(campaign.name)
    expect(j.page.locator("[data-charts-rendered='4']")).to_have_count(1)
    as_of = j.page.locator("[data-as-of]")
    expect(as_of).to_be_visible()
    expect(as_of).to_contain_text(str(timezone.localtime().year))
    for name, value in wanted.items():
        tile = j.page.locator(f"[data-kpi='{name}'] b")
        if tile.count():
            expect(tile).to_have_text(str(value))
    j.step("campaign figures")

    # The overview, by its link: the campaign's row and the totals say the same.
    j.click_menu(j.t("Dashboards"))
    j.click_link(j.t("Leadership overview"))
    expect(j.page.locator("[data-as-of]")).to_be_visible()
    columns = ["name", "status", *(name for name, _label in METRIC_COLUMNS)]
    row = j.page.locator("table[data-table=campaigns] tr").filter(has_text=campaign.name)
    texts = [t.strip() for t in row.locator("td").all_inner_texts()]
    shown = dict(zip(columns, texts, strict=True))
    for name, value in wanted.items():
        assert shown[name] == str(value), (name, shown[name], value)
        tile = j.page.locator(f"[data-kpi='{name}'] b")
        if tile.count():
            expect(tile).to_have_text(str(value))
    # One campaign with a measured rate: it is ranked (no minimum volume hides it).
    best = j.page.locator("table[data-table=best]")
    expect(best.get_by_text(campaign.name)).to_be_visible()
    j.step("overview figures")
