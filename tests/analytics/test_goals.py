"""Goals, conversions and attribution (issue 20, points 2 and 3), over HTTP where a
visitor would go: tracked links carry their click (a cookie on the hub, ?ch_click= on
other sites), the goal's pixel and script record conversions, an order counts once, the
rollups carry conversions and the conversion rate, and `credit` splits each conversion
between the clicks that led to it under the first-touch, last-touch and linear models.
"""

import datetime
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import RequestFactory
from django.utils import timezone

from analytics import attribution, rollups
from analytics.click_carry import CLICK_COOKIE, CLICK_PARAM, parse_click, sign_click
from analytics.conversions import forget_goals, form_submitted
from analytics.links import get_or_create_tracked_link
from analytics.metrics import RATES, rates
from analytics.models import CampaignDailyRollup, ConversionCredit, DailyRollup, Event, Goal
from tests.factories import CampaignFactory, ChannelAccountFactory, PublicationFactory

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
SHOP = "https://shop.example.com/spring"


@pytest.fixture(autouse=True)
def fresh_goals():
    forget_goals()
    yield
    forget_goals()


@pytest.fixture
def world(post):
    """One campaign with an email and a forum publication, each with a tracked link to
    the company's shop and one to the hub's own post, and an external goal."""
    campaign = CampaignFactory()
    email = PublicationFactory(
        campaign=campaign, page=post, channel_account=ChannelAccountFactory(kind="email/smtp")
    )
    forum = PublicationFactory(
        campaign=campaign, page=post, channel_account=ChannelAccountFactory(kind="forum/discourse")
    )
    hub_url = f"https://hub.example.com{post.url}"
    links = {
        "email": get_or_create_tracked_link(SHOP, publication=email),
        "forum": get_or_create_tracked_link(SHOP, publication=forum),
        "email-hub": get_or_create_tracked_link(hub_url, publication=email),
        "forum-hub": get_or_create_tracked_link(hub_url, publication=forum),
    }
    goal = Goal.objects.create(
        campaign=campaign, name="Order", kind=Goal.Kind.EXTERNAL, site_hosts="shop.example.com"
    )
    return {"campaign": campaign, "email": email, "forum": forum, "links": links, "goal": goal}


def click(client, link, *, days_ago=0.0, agent=FIREFOX) -> str:
    """Click `link` as a visitor would; returns the signed click id the shop receives
    (stored on the shop's side by the goal's script). The click is moved `days_ago`
    into the past."""
    before = set(Event.objects.filter(kind="click").values_list("uid", flat=True))
    response = client.get(f"/t/{link.code}", HTTP_USER_AGENT=agent)
    assert response.status_code == 302
    (uid,) = set(Event.objects.filter(kind="click").values_list("uid", flat=True)) - before
    if days_ago:
        at = timezone.now() - datetime.timedelta(days=days_ago)
        Event.objects.filter(uid=uid).update(occurred_at=at)
    query = parse_qs(urlsplit(response["Location"]).query)
    if link.destination.startswith("https://hub.example.com"):
        assert CLICK_PARAM not in query  # the hub keeps clicks in its own cookie
        return sign_click(uid)
    (carried,) = query[CLICK_PARAM]
    assert parse_click(carried) == uid
    return carried


def convert(client, goal, carried=(), agent=FIREFOX, **params):
    query = {**params, CLICK_PARAM: list(carried)}
    response = client.get(f"/c/{goal.key}", query, HTTP_USER_AGENT=agent)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/gif"
    return response


def roll_up():
    rollups.update_rollups(now=timezone.now() + datetime.timedelta(days=1))


def credits(world, model) -> dict:
    """{channel: (conversions, value)} of the campaign under `model`, today's window."""
    today = timezone.now().date()
    rows = attribution.credit(
        world["campaign"].pk, today - datetime.timedelta(days=60), today, model
    )
    out = {}
    for row in rows:
        got = out.get(row.channel, (0.0, Decimal("0")))
        out[row.channel] = (round(got[0] + row.conversions, 4), got[1] + row.value)
    return out


def test_pixel_and_script_over_http(client, world):
    goal = world["goal"]
    response = convert(client, goal, value="12.50", currency="cny", order="A1")
    assert response["Cache-Control"].startswith("no-store")
    assert response["Access-Control-Allow-Origin"] == "*"
    conversion = Event.objects.get(kind="conversion")
    assert (conversion.goal_id, conversion.campaign_id) == (goal.pk, world["campaign"].pk)
    assert (conversion.value_cents, conversion.currency, conversion.order_id) == (
        1250,
        "CNY",
        "A1",
    )
    assert conversion.channel == ""  # no click carried: not attributed

    script = client.get(f"/c/{goal.key}.js")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("text/javascript")
    body = script.content.decode()
    assert f'"https://hub.example.com/c/{goal.key}"' in body
    assert "ch_click" in body and "data-convert" in body and "{%" not in body
    assert client.get("/c/not-a-key!.js").status_code == 404


def test_external_goal_posted_twice_with_one_order_id_counts_once(client, world):
    goal = world["goal"]
    convert(client, goal, value="99.00", order="ORDER-7")
    convert(client, goal, value="99.00", order="ORDER-7")
    convert(client, goal, value="10.00", order="ORDER-8")
    assert Event.objects.filter(kind="conversion").count() == 2
    roll_up()
    row = CampaignDailyRollup.objects.get(campaign_id=world["campaign"].pk, channel="")
    assert (row.conversions, row.conversion_value) == (2, 10900)
    # The same order of another goal is another conversion.
    other = Goal.objects.create(campaign=world["campaign"], name="Lead", kind=Goal.Kind.EXTERNAL)
    forget_goals()
    convert(client, other, order="ORDER-7")
    assert Event.objects.filter(kind="conversion", order_id="ORDER-7").count() == 2


def test_the_order_is_refused_by_the_database_not_by_a_check(world):
    """The second row of an order is skipped by the unique constraint even when both
    arrive in one batch or the first was stored by another drainer."""
    from analytics.events import store_events

    payload = {"k": "conversion", "g": world["goal"].pk, "o": "X", "t": timezone.now().timestamp()}
    assert store_events([{**payload, "u": "a" * 32}, {**payload, "u": "b" * 32}]) == 1
    store_events([{**payload, "u": "c" * 32}])
    assert Event.objects.filter(kind="conversion").count() == 1


def test_email_then_forum_credited_under_each_model(client, world):
    """Worked example. Conversion 1 (100.00): email click 3 days before, forum click 1
    day before. Conversion 2 (50.00): email 5 days before, forum 4 and 2 days before.

    first touch: email 1 + 1 = 2 conversions, 100 + 50 = 150.00; forum 0.
    last touch:  forum 1 + 1 = 2, 150.00; email 0.
    linear:      email 1/2 + 1/3 = 5/6 = 0.8333, 50.00 + 16.67 = 66.67;
                 forum 1/2 + 2/3 = 7/6 = 1.1667, 50.00 + 33.33 = 83.33.
    """
    links, goal = world["links"], world["goal"]
    first = [click(client, links["email"], days_ago=3), click(client, links["forum"], days_ago=1)]
    convert(client, goal, first, value="100.00", order="1")
    second = [
        click(client, links["email"], days_ago=5),
        click(client, links["forum"], days_ago=4),
        click(client, links["forum"], days_ago=2),
    ]
    convert(client, goal, second, value="50.00", order="2")
    roll_up()

    assert credits(world, "first") == {"email": (2.0, Decimal("150.00"))}
    assert credits(world, "last") == {"forum": (2.0, Decimal("150.00"))}
    linear = credits(world, "linear")
    assert linear["email"][0] == pytest.approx(5 / 6, abs=1e-4)
    assert linear["forum"][0] == pytest.approx(7 / 6, abs=1e-4)
    assert linear["email"][1] == Decimal("66.67")
    assert linear["forum"][1] == Decimal("83.33")
    # Each model hands out exactly the conversions there were.
    for model in attribution.MODELS:
        assert sum(c[0] for c in credits(world, model).values()) == pytest.approx(2.0)
    # What the goal reached, against its targets.
    today = timezone.now().date()
    assert attribution.goal_totals(world["campaign"].pk, today, today) == {
        goal.pk: (2, Decimal("150.00"))
    }
    # Per link: the credit rows name the link and publication of the click.
    (row,) = attribution.credit(
        world["campaign"].pk, timezone.now().date(), timezone.now().date(), "first"
    ) or [None]
    assert (row.link_id, row.publication_id) == (links["email"].pk, world["email"].pk)

    # The rollups place each conversion on its last click's channel and link.
    forum_day = DailyRollup.objects.filter(channel="forum", link_id=links["forum"].pk)
    assert sum(r.conversions for r in forum_day) == 2
    assert sum(r.conversion_value for r in forum_day) == 15000


def test_a_bot_click_earns_nothing(client, world):
    links, goal = world["links"], world["goal"]
    carried = [
        click(client, links["email"], days_ago=2, agent=GOOGLEBOT),
        click(client, links["forum"], days_ago=1),
    ]
    convert(client, goal, carried, value="20.00", order="B1")
    roll_up()
    for model in attribution.MODELS:
        assert credits(world, model) == {"forum": (1.0, Decimal("20.00"))}
    assert not ConversionCredit.objects.filter(channel="email").exists()

    # Only bot clicks: the conversion is unattributed, never credited to them.
    carried = [click(client, links["email"], days_ago=1, agent=GOOGLEBOT)]
    convert(client, goal, carried, order="B2")
    roll_up()
    assert credits(world, "linear")[""] == (1.0, Decimal("0.00"))
    assert "email" not in credits(world, "linear")


def test_a_conversion_by_a_bot_counts_nothing(client, world):
    convert(client, world["goal"], order="BOT", agent=GOOGLEBOT)
    roll_up()
    assert Event.objects.get(kind="conversion").is_bot
    assert not ConversionCredit.objects.exists()
    assert sum(r.conversions for r in CampaignDailyRollup.objects.all()) == 0


def test_attribution_window(client, world, settings):
    """30 days by default: a click 31 days before the conversion earns nothing, one 29
    days before earns it all; the window is a setting."""
    links, goal = world["links"], world["goal"]
    old = click(client, links["email"], days_ago=31)
    recent = click(client, links["forum"], days_ago=29)
    convert(client, goal, [old, recent], order="W1")
    convert(client, goal, [old], order="W2")
    roll_up()
    for model in attribution.MODELS:
        assert credits(world, model) == {
            "forum": (1.0, Decimal("0.00")),
            "": (1.0, Decimal("0.00")),
        }

    settings.ANALYTICS_ATTRIBUTION_WINDOW_DAYS = 40
    convert(client, goal, [old], order="W3")
    roll_up()
    assert credits(world, "first")["email"] == (1.0, Decimal("0.00"))


def test_conversion_rate_lies_in_the_unit_interval(client, world):
    """Conversion rate = converting clicks / clicks, each on the click's own day and
    row: a click that led to two conversions counts once; a click of an earlier day
    converts in its own day's row."""
    links, goal = world["links"], world["goal"]
    a = click(client, links["email"], days_ago=3)
    click(client, links["email"], days_ago=3)
    b = click(client, links["forum"])
    convert(client, goal, [a], order="R1")
    convert(client, goal, [a], order="R2")  # the same click converting again
    convert(client, goal, [b], order="R3")
    roll_up()
    rows = list(DailyRollup.objects.filter(campaign_id=world["campaign"].pk))
    assert sum(r.converting_clicks for r in rows) == 2
    assert sum(r.conversions for r in rows) == 3
    email_days = [r for r in rows if r.channel == "email" and r.clicks]
    assert [(r.clicks, r.converting_clicks) for r in email_days] == [(2, 1)]
    for r in [*rows, *CampaignDailyRollup.objects.all()]:
        row = rates({f: getattr(r, f) for f in ("clicks", "converting_clicks")})
        assert row["conversion_rate"] is None or 0 <= row["conversion_rate"] <= 1
    total = rates(
        {
            "clicks": sum(r.clicks for r in rows),
            "converting_clicks": sum(r.converting_clicks for r in rows),
        }
    )
    assert total["conversion_rate"] == pytest.approx(2 / 3)
    assert "conversion_rate" in {rate.name for rate in RATES}


HOSTILE = [
    {"value": "1e999999"},
    {"value": "-5"},
    {"value": "NaN"},
    {"value": "Infinity"},
    {"value": "9" * 400},
    {"value": "１２"},
    {"value": "12.345678"},
    {"currency": "€€€"},
    {"currency": "<script>"},
    {"order": "x" * 5000},
    {"order": "\x00\r\nSet-Cookie: a=b"},
    {CLICK_PARAM: "A" * 49},
    {CLICK_PARAM: "x" * 10_000},
    {CLICK_PARAM: f"{'0' * 32}.{'0' * 16}"},
    {"value": ["1", "2"], "order": ["a", "b"]},
]


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_parameters_never_fail(client, world, query):
    response = client.get(f"/c/{world['goal'].key}", query)
    assert response.status_code == 200 and response["Content-Type"] == "image/gif"
    conversion = Event.objects.get(kind="conversion")
    # Only a well-formed value is kept (of several, the last, like every query parameter).
    assert conversion.value_cents == (200 if isinstance(query.get("value"), list) else 0)
    assert len(conversion.order_id) <= 100 and "\n" not in conversion.order_id
    assert conversion.click_ids == ""


@pytest.mark.parametrize(
    "path", ["/c/", "/c/%00", "/c/AAAAAAAAAAAAAAAA", "/c/../../etc/passwd", "/c/x.js.js"]
)
def test_unknown_goals_record_nothing(client, world, path):
    response = client.get(path)
    assert response.status_code in (200, 404)
    assert not Event.objects.filter(kind="conversion").exists()


def test_inactive_goal_records_nothing(client, world):
    world["goal"].active = False
    world["goal"].save()
    forget_goals()
    convert(client, world["goal"], order="1")
    assert not Event.objects.filter(kind="conversion").exists()


def test_only_links_to_the_goals_site_carry_the_click_id(client, world):
    """A partner's page, a pre-signed download or a look-alike host never receives (or
    breaks on) the click id: only the hosts the external goal names, and subdomains."""
    email = world["email"]
    for destination, carried in [
        ("https://shop.example.com/a", True),
        ("https://eu.shop.example.com/a?x=1", True),
        ("https://partner.example.net/a", False),
        ("https://files.example.com/report.pdf?X-Amz-Signature=abc", False),
        ("https://shop.example.com.evil.test/a", False),
        ("https://notshop.example.com/a", False),
    ]:
        link = get_or_create_tracked_link(destination, publication=email)
        location = client.get(f"/t/{link.code}", HTTP_USER_AGENT=FIREFOX)["Location"]
        assert (CLICK_PARAM in parse_qs(urlsplit(location).query)) is carried, destination
        if not carried:
            assert "ch_click" not in location


def test_the_pixel_converts_only_external_goals(client, world, post):
    """A form goal converts when its form is sent, never through the public pixel (a
    pixel left on a shop after the goal changed kind, or a guessed order id)."""
    form_goal = Goal.objects.create(
        campaign=world["campaign"], name="Sign-up", kind=Goal.Kind.FORM, page=post
    )
    forget_goals()
    convert(client, form_goal, order="subscriber:1")
    assert not Event.objects.filter(kind="conversion").exists()


def test_hub_cookie_carries_clicks_to_a_form_and_a_page_goal(client, world, post, home_page):
    """On the hub the click travels in a first-party cookie: the landing page's form
    (form_submitted, called by the landing page) and a "hub page reached" goal (the page
    view beacon) convert with the clicks that brought the visitor."""
    links, campaign = world["links"], world["campaign"]
    click(client, links["email-hub"], days_ago=1)
    click(client, links["forum-hub"])
    cookie = client.cookies[CLICK_COOKIE].value
    assert cookie and client.cookies[CLICK_COOKIE]["httponly"]

    form_goal = Goal.objects.create(campaign=campaign, name="Sign-up", kind="form", page=post)
    page_goal = Goal.objects.create(campaign=campaign, name="Read", kind="page", page=home_page)
    forget_goals()
    request = RequestFactory().post("/landing/", HTTP_USER_AGENT=FIREFOX)
    request.COOKIES[CLICK_COOKIE] = cookie
    request.META["HTTP_COOKIE"] = f"{CLICK_COOKIE}={cookie}"
    form_submitted(request, post.pk, subscriber_id=41)
    form_submitted(request, post.pk, subscriber_id=41)  # the same lead again: once
    form_submitted(request, home_page.pk, subscriber_id=None)  # no form goal there

    beacon = {"p": str(home_page.pk), "r": "", "u": "https://hub.example.com/"}
    assert client.post("/a/pv", beacon, HTTP_USER_AGENT=FIREFOX).status_code == 204
    assert client.post("/a/pv", beacon, HTTP_USER_AGENT=FIREFOX).status_code == 204

    conversions = Event.objects.filter(kind="conversion")
    assert sorted(conversions.values_list("goal_id", flat=True)) == [form_goal.pk, page_goal.pk]
    for conversion in conversions:
        assert conversion.channel == "forum"  # the last click
        assert conversion.link_id == links["forum-hub"].pk
    roll_up()
    assert credits(world, "first") == {"email": (2.0, Decimal("0.00"))}
    assert credits(world, "last") == {"forum": (2.0, Decimal("0.00"))}
    assert credits(world, "linear") == {
        "email": (1.0, Decimal("0.00")),
        "forum": (1.0, Decimal("0.00")),
    }


def test_a_forged_cookie_or_click_id_carries_nothing(client, world):
    uid = "0" * 32
    client.cookies[CLICK_COOKIE] = f"{uid}:1abc:forged"
    convert(client, world["goal"], [f"{uid}.{'f' * 16}"], order="F")
    assert Event.objects.get(kind="conversion").click_ids == ""


def test_unknown_model_is_refused(world):
    with pytest.raises(ValueError):
        attribution.credit(world["campaign"].pk, timezone.now().date(), timezone.now().date(), "u")


def test_a_click_and_its_conversion_drained_in_one_batch(world):
    """Through the queue the click and the conversion may arrive in one batch: the
    conversion still finds its click."""
    from analytics.events import store_events

    now = timezone.now().timestamp()
    link = world["links"]["email"]
    click_payload = {"u": "c" * 32, "k": "click", "t": now - 60, "l": link.pk, "a": FIREFOX}
    conversion = {
        "u": "d" * 32,
        "k": "conversion",
        "t": now,
        "g": world["goal"].pk,
        "ck": [sign_click("c" * 32)],
    }
    assert store_events([click_payload, conversion]) == 2
    stored = Event.objects.get(kind="conversion")
    assert (stored.channel, stored.link_id, stored.is_first) == ("email", link.pk, True)
    roll_up()
    assert credits(world, "last") == {"email": (1.0, Decimal("0.00"))}
    assert sum(r.converting_clicks for r in DailyRollup.objects.all()) == 1


def test_the_click_and_the_pixel_through_the_redis_queue(client, world, use_redis):
    from analytics.draining import drain_event_queue
    from analytics.pusher import flush_pushes

    link = world["links"]["forum"]
    response = client.get(f"/t/{link.code}", HTTP_USER_AGENT=FIREFOX)
    (carried,) = parse_qs(urlsplit(response["Location"]).query)[CLICK_PARAM]
    convert(client, world["goal"], [carried], value="5", currency="CNY", order="Q1")
    flush_pushes()
    assert not Event.objects.exists()  # queued, not stored
    drain_event_queue()
    conversion = Event.objects.get(kind="conversion")
    assert (conversion.value_cents, conversion.order_id) == (500, "Q1")
    assert (conversion.channel, conversion.link_id) == ("forum", link.pk)
