"""The demo behind `make run` shows everything working: this week's calendar full, real
email sends (one finished, one paused part way) whose deliveries, opens and clicks were
written by the real send path and the real tracking endpoints, and dashboard figures
that mean what they say (every rate within [0, 1], deliveries for email).

The demo is loaded once for the module (it takes a few seconds) inside a transaction
rolled back at the end; each test reads it."""

import datetime
import inspect
import io
import numbers
import zoneinfo

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import Client, override_settings
from django.utils import timezone

from analytics import dashboards
from analytics.demo import FINISHED_SLUG, RUNNING_SEND_STOPS_AFTER, RUNNING_SLUG
from analytics.models import Event
from campaigns.audiences.services import recipient_key
from campaigns.demo import read_demo_logins
from campaigns.models import Campaign, Publication
from channels.email.models import Delivery, EmailSend
from channels.models import ChannelAccount, ManualPlacementTask

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker, tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("var")
    with django_db_blocker.unblock(), override_settings(VAR_DIR=var_dir):
        with transaction.atomic():
            out = io.StringIO()
            call_command("load_demo", stdout=out)
            yield out.getvalue()
            transaction.set_rollback(True)


@pytest.fixture
def read(demo, db):
    return demo


def _week():
    today = timezone.now().astimezone(SHANGHAI).date()
    monday = today - datetime.timedelta(days=today.weekday())
    return today, [monday + datetime.timedelta(days=i) for i in range(14)]


def test_this_week_and_next_are_on_the_calendar(read):
    today, days = _week()
    running = Campaign.objects.get(slug=RUNNING_SLUG)
    by_day = {}
    for publication in running.publications.exclude(publish_at=None):
        by_day.setdefault(publication.publish_at.astimezone(SHANGHAI).date(), []).append(
            publication
        )
    for day in days:
        assert by_day.get(day), f"nothing on {day}"
        for publication in by_day[day]:
            if day < today:
                assert publication.status == Publication.Status.PUBLISHED, publication
                assert publication.published_at == publication.publish_at
            elif day > today:
                assert publication.status == Publication.Status.SCHEDULED, publication
    assert running.status == Campaign.Status.RUNNING
    assert running.start_date < today < running.end_date
    # The calendar's week view shows them to the marketer, published and scheduled.
    client = Client()
    signed_in = client.post(  # the sign-in form: login throttling needs the request
        "/admin/login/", {"username": "marketer", "password": read_demo_logins()["marketer"]}
    )
    assert signed_in.status_code == 302, signed_in.status_code
    page = client.get(f"/admin/campaigns/calendar/?view=week&date={days[7]}")
    assert page.status_code == 200
    titles = {p.page.title for p in running.publications.filter(publish_at__date__gte=days[8])}
    assert any(title in page.content.decode() for title in titles)


def test_a_finished_campaign_last_month_and_one_awaiting_approval(read):
    today, _days = _week()
    finished = Campaign.objects.get(slug=FINISHED_SLUG)
    assert finished.status == Campaign.Status.FINISHED
    assert finished.end_date < today.replace(day=1)
    assert set(finished.publications.values_list("status", flat=True)) == {"published"}
    awaiting = Campaign.objects.filter(status=Campaign.Status.AWAITING_APPROVAL)
    assert awaiting.exists()
    for campaign in Campaign.objects.filter(slug__in=[FINISHED_SLUG, RUNNING_SLUG]):
        assert campaign.owner.username == "marketer"


def test_nothing_is_scheduled_onto_an_inactive_account(read):
    inactive = ChannelAccount.objects.filter(is_active=False)
    assert inactive.count() == 4
    assert not Publication.objects.filter(channel_account__in=inactive).exclude(
        status=Publication.Status.DRAFT
    )


def test_one_send_finished_and_one_paused_part_way_through_the_real_fanout(read):
    sends = EmailSend.objects.filter(publication__campaign__slug=RUNNING_SLUG)
    finished = sends.get(status=EmailSend.Status.FINISHED)
    paused = sends.get(status=EmailSend.Status.PAUSED)
    assert paused.pause_reason == EmailSend.PauseReason.PERSON
    for send in (finished, paused):
        rows = Delivery.objects.filter(publication=send.publication)
        assert rows.count() == send.recipient_count > 100
    finished_rows = Delivery.objects.filter(publication=finished.publication)
    assert set(finished_rows.values_list("status", flat=True)) == {Delivery.Status.SENT}
    paused_rows = Delivery.objects.filter(publication=paused.publication)
    sent = paused_rows.filter(status=Delivery.Status.SENT).count()
    assert RUNNING_SEND_STOPS_AFTER <= sent < paused.recipient_count
    assert paused_rows.filter(status=Delivery.Status.PENDING).exists()
    assert _event_keys("send") == _sent_keys()


def test_every_message_handed_over_has_its_delivery_event(read):
    """Written by the fan-out once per recipient the server accepted (channels.email),
    never by the demo."""
    assert _event_keys("delivery") == _sent_keys()


def _sent_keys() -> set[str]:
    return {
        f"{publication_id}:{recipient_key(subscriber_id)}"
        for publication_id, subscriber_id in Delivery.objects.filter(
            status=Delivery.Status.SENT
        ).values_list("publication_id", "subscriber_id")
    }


def _event_keys(kind: str) -> set[str]:
    """The message keys of the email events of `kind`, each once."""
    keys = list(
        Event.objects.filter(kind=kind, channel="email").values_list("message_key", flat=True)
    )
    assert len(keys) == len(set(keys)), f"a {kind} event recorded twice"
    return set(keys)


def test_opens_and_clicks_came_through_the_tracking_endpoints(read):
    opens = Event.objects.filter(kind="open")
    clicks = Event.objects.filter(kind="click", channel="email")
    assert opens.filter(is_bot=False).count() > 20
    assert clicks.filter(is_bot=False, is_unique=True).count() > 5
    # The tracking views stored what a browser sent them: a hashed visitor and its agent.
    assert not opens.filter(visitor_hash="").exists()
    assert not opens.filter(user_agent="").exists()
    assert set(opens.values_list("message_key", flat=True)) <= _sent_keys()
    # A security gateway's clicks on every link at once, as the message arrives, are
    # set apart by the scanner heuristics, not counted.
    assert clicks.filter(
        is_bot=True, bot_reason__in=["all_links_at_once", "fast_after_delivery"]
    ).exists()
    assert Event.objects.filter(kind="click", channel="manual").exists()
    assert Event.objects.filter(kind="pageview").values("page_id").distinct().count() > 5


def test_manual_tasks_open_and_done(read):
    tasks = ManualPlacementTask.objects.all()
    assert tasks.filter(status=ManualPlacementTask.Status.OPEN).exists()
    done = tasks.filter(status=ManualPlacementTask.Status.DONE)
    assert done.exists()
    for task in done:
        assert task.publication.public_url == task.public_url


def _dashboard_rows(flt, campaign_ids):
    """Every row every dashboard function returns, for each demo campaign and overall."""
    rows = []
    for name, function in vars(dashboards).items():
        if name.startswith("_") or not inspect.isfunction(function):
            continue
        if function.__module__ != dashboards.__name__:
            continue
        parameters = list(inspect.signature(function).parameters.values())
        names = [p.name for p in parameters]
        if names[:2] == ["flt", "campaign_id"] and _optional(parameters[2:]):
            results = [function(flt, pk) for pk in campaign_ids]
        elif names[:1] == ["flt"] and _optional(parameters[1:]):
            results = [function(flt)]
        else:
            continue
        for result in results:
            rows.extend(result if isinstance(result, list) else [result])
    return [row for row in rows if isinstance(row, dict)]


def _optional(parameters) -> bool:
    """Every one of `parameters` has a default (a limit, a number of days)."""
    return all(p.default is not inspect.Parameter.empty for p in parameters)


def _rates(row: dict):
    for key, value in row.items():
        if isinstance(value, numbers.Number) and not isinstance(value, bool):
            if "rate" in key or "ctr" in key or key == "click_to_open":
                yield key, value


def test_every_dashboard_rate_is_within_zero_and_one_and_email_has_deliveries(read):
    campaign_ids = list(Campaign.objects.values_list("pk", flat=True))
    today = timezone.now().date()
    flt = dashboards.DashboardFilter(start=today - datetime.timedelta(days=60), end=today)
    rows = _dashboard_rows(flt, campaign_ids)
    assert rows
    checked = 0
    for row in rows:
        for key, value in _rates(row):
            assert 0 <= value <= 1, (key, value, row)
            checked += 1
    assert checked, "no rate found in the dashboards"
    email_rows = [row for row in rows if row.get("channel") == "email" and "deliveries" in row]
    assert email_rows and all(row["deliveries"] > 0 for row in email_rows)


def test_a_second_load_changes_nothing(read):
    models = [Campaign, Publication, EmailSend, Delivery, Event, ManualPlacementTask]
    before = {model.__name__: model.objects.count() for model in models}
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    assert {model.__name__: model.objects.count() for model in models} == before
    assert "analytics.demo.load_analytics_demo: created 0 campaigns" in out.getvalue()


def test_some_readers_ordered_and_their_orders_are_credited_to_their_clicks(read):
    """The running campaign's external goal: readers who clicked then ordered (the
    shop's script sent the click id, or the hub's cookie carried it) are credited to
    the channels they clicked in, under every model."""
    from analytics import attribution
    from analytics.models import Goal

    campaign = Campaign.objects.get(slug=RUNNING_SLUG)
    goal = Goal.objects.get(campaign=campaign, kind=Goal.Kind.EXTERNAL)
    conversions = Event.objects.filter(kind="conversion", goal_id=goal.pk, is_bot=False)
    assert conversions.count() >= 3
    assert conversions.exclude(channel="").exists()
    # Every goal of the campaign: the orders and the readers of the sale's post.
    every = Event.objects.filter(kind="conversion", campaign_id=campaign.pk, is_bot=False)
    assert every.count() > conversions.count()
    start, end = campaign.start_date, timezone.now().date()
    for model in attribution.MODELS:
        credited = attribution.credit(campaign.pk, start, end, model)
        assert sum(c.conversions for c in credited) == pytest.approx(every.count())
        assert any(c.channel for c in credited)
