"""An e-zine run goes through the one publishing pipeline: all or nothing, retried after
a crash without a second issue page, publication or message, refused clearly when the
campaign services refuse, and on a cadence read in the e-zine's own time zone."""

import datetime

import pytest

from campaigns.models import Campaign, Notification, Publication
from campaigns.services import sweep_stuck_publications
from channels.email import services as email_services
from channels.email.models import Delivery, EmailSend
from channels.ezine import services
from channels.ezine.adapter import EZineAdapter
from channels.ezine.models import EZine, EZineRun
from content.models import EZineIssuePage
from tests.channels.ezine.conftest import publish_due
from tests.factories import make_blog, make_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def fresh_article(home_page):
    return make_post(make_blog(home_page), title="Fresh article")


def send_everything(send: EmailSend) -> None:
    for _ in range(5):
        email_services.send_next_batch(send.pk)


def test_a_run_that_dies_halfway_leaves_nothing_and_runs_again(
    ezine_setup, no_celery, fresh_article, monkeypatch
):
    ezine, handler = ezine_setup
    real = services.set_email_audience

    def dies_once(*args, **kwargs):
        monkeypatch.setattr(services, "set_email_audience", real)
        raise RuntimeError("worker lost")

    monkeypatch.setattr(services, "set_email_audience", dies_once)
    with pytest.raises(RuntimeError):
        services.run_ezine(ezine.pk)
    assert not EZineIssuePage.objects.exists()
    assert not Publication.objects.exists() and not EZineRun.objects.exists()
    ezine.refresh_from_db()
    assert ezine.next_run_at is None and ezine.last_issue_at is None  # still due

    run = services.run_ezine(ezine.pk)  # the task, redelivered
    assert run.outcome == EZineRun.Outcome.ISSUED
    assert EZineIssuePage.objects.count() == 1 and Publication.objects.count() == 1
    # A duplicate of the task finds the e-zine no longer due.
    assert services.run_ezine(ezine.pk) is None
    assert EZineIssuePage.objects.count() == 1 and EZineRun.objects.count() == 1


def test_a_publish_killed_mid_send_completes_on_retry_mailing_each_subscriber_once(
    ezine_setup, no_celery, fresh_article, monkeypatch
):
    ezine, handler = ezine_setup
    run = services.run_ezine(ezine.pk)

    # The worker dies right after the audience is frozen: the attempt is on record,
    # its outcome is not (SystemExit is not caught, as a SIGKILL would not be).
    real_publish = EZineAdapter.publish

    def publish_then_die(self, publication, rendered):
        real_publish(self, publication, rendered)
        raise SystemExit("killed")

    monkeypatch.setattr(EZineAdapter, "publish", publish_then_die)
    with pytest.raises(SystemExit):
        publish_due()
    monkeypatch.setattr(EZineAdapter, "publish", real_publish)
    publication = Publication.objects.get()
    assert publication.status == Publication.Status.PUBLISHING

    # The sweeper finds the attempt stuck; the next attempt looks the send up first.
    later = publication.started_at + datetime.timedelta(hours=1)
    sweep_stuck_publications(now=later)
    assert publish_due(now=later) == ["found"]
    send = EmailSend.objects.get()
    send_everything(send)

    assert EZineIssuePage.objects.count() == 1 and Publication.objects.count() == 1
    assert run.publication_id == publication.pk
    recipients = [tuple(rcpts) for rcpts, _raw in handler.messages]
    assert len(recipients) == 3 and len(set(recipients)) == 3
    assert Delivery.objects.filter(status="sent").count() == 3
    publication.refresh_from_db()
    assert publication.status == Publication.Status.PUBLISHED


def test_a_run_for_a_campaign_not_approved_is_refused_clearly(
    ezine_setup, no_celery, fresh_article
):
    ezine, handler = ezine_setup
    Campaign.objects.filter(pk=ezine.campaign_id).update(status=Campaign.Status.DRAFT)
    before = timezone_now()
    run = services.run_ezine(ezine.pk, now=before)
    assert run.outcome == EZineRun.Outcome.FAILED
    assert "not approved" in run.message
    # Nothing half-done: no issue page, no publication; the owner is told.
    assert not EZineIssuePage.objects.exists() and not Publication.objects.exists()
    assert Notification.objects.filter(user=ezine.campaign.owner, message__contains="not approved")
    ezine.refresh_from_db()
    assert ezine.next_run_at > before  # the next occurrence, not every minute


def timezone_now():
    from django.utils import timezone

    return timezone.now()


@pytest.mark.parametrize(
    ("after", "expected_utc"),
    [
        # Mondays 09:00 in Berlin: 08:00 UTC in winter, 07:00 UTC in summer.
        (datetime.datetime(2026, 11, 22, 8, 0, tzinfo=datetime.UTC), (2026, 11, 23, 8, 0)),
        (datetime.datetime(2026, 6, 28, 8, 0, tzinfo=datetime.UTC), (2026, 6, 29, 7, 0)),
        # Across the spring change: Sunday 29 March 2026 -> Monday 30 March, summer time.
        (datetime.datetime(2026, 3, 28, 12, 0, tzinfo=datetime.UTC), (2026, 3, 30, 7, 0)),
    ],
)
def test_the_cadence_is_read_in_the_ezines_time_zone(after, expected_utc):
    ezine = EZine(cadence="FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0", time_zone="Europe/Berlin")
    expected = datetime.datetime(*expected_utc, tzinfo=datetime.UTC)
    assert services.next_run_after(ezine, after) == expected


def test_the_cadence_in_shanghai():
    ezine = EZine(cadence="FREQ=DAILY;BYHOUR=8;BYMINUTE=30", time_zone="Asia/Shanghai")
    after = datetime.datetime(2026, 12, 31, 1, 0, tzinfo=datetime.UTC)  # 09:00 in Shanghai
    assert services.next_run_after(ezine, after) == datetime.datetime(
        2027, 1, 1, 0, 30, tzinfo=datetime.UTC
    )


def test_due_ezines_are_not_claimed_by_the_tick(ezine_setup):
    ezine, _handler = ezine_setup
    now = timezone_now()
    EZine.objects.filter(pk=ezine.pk).update(next_run_at=now - datetime.timedelta(minutes=1))
    assert services.due_ezine_ids(now) == [ezine.pk]
    # A second tick before the run still lists it: only the run moves next_run_at.
    assert services.due_ezine_ids(now) == [ezine.pk]


def test_a_cadence_that_has_ended_stops_the_ezine(ezine_setup, no_celery, fresh_article):
    ezine, _handler = ezine_setup
    # A cadence that ended a minute ago (UNTIL, in the e-zine's zone, here UTC).
    until = (timezone_now() - datetime.timedelta(minutes=1)).strftime("%Y%m%dT%H%M%S")
    EZine.objects.filter(pk=ezine.pk).update(cadence=f"FREQ=DAILY;UNTIL={until}", time_zone="UTC")
    run = services.run_ezine(ezine.pk)
    assert run.outcome == EZineRun.Outcome.ISSUED
    ezine.refresh_from_db()
    assert ezine.next_run_at is None and not ezine.is_active
    # A duplicate or redelivered task sends no second last issue.
    assert services.run_ezine(ezine.pk) is None
    assert EZineIssuePage.objects.count() == 1 and Publication.objects.count() == 1
