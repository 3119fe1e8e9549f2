"""Live progress (channels.email.progress and its JSON endpoint) and the Sends list and
menu item. Delivery rows come from the real fan-out against the loopback SMTP server."""

# ruff: noqa: F811 - the email fixtures are imported, then used by name

import datetime
import json

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from campaigns.audiences import services as audience_services
from channels.email import services
from channels.email.models import Delivery, EmailSend
from channels.email.progress import RATE_WINDOW, send_progress
from tests.channels.email.conftest import (  # noqa: F401 - fixtures
    drain,
    email_account,
    email_publication,
    mailing_list,
    make_subscribers,
    no_celery,
    publish,
    smtp_server,
)
from tests.factories import PublicationFactory, UserFactory, make_email_issue

pytestmark = pytest.mark.django_db


def test_progress_counts_sent_failed_skipped_and_pending(
    smtp_server, no_celery, mailing_list, email_publication
):
    _controller, handler = smtp_server
    readers = make_subscribers(mailing_list, 25)
    handler.refuse[readers[0].email] = "550 No such user"
    send = publish(email_publication)
    # After the audience was frozen: skipped at their turn.
    audience_services.unsubscribe(readers[1], mailing_list)
    audience_services.suppress_address(readers[2].email, "complaint")
    services.send_next_batch(send.pk)  # the first batch of ten

    progress = send_progress(send)

    assert progress.total == 25
    assert progress.failed == 1 and progress.skipped == 2
    assert progress.sent == 7 and progress.pending == 15
    assert progress.percent == 40  # 10 of 25 dealt with
    assert progress.rate_per_minute > 0
    assert progress.eta_seconds > 0 and progress.eta_at > timezone.now()

    drain(send)
    done = send_progress(EmailSend.objects.get(pk=send.pk))
    assert (done.sent, done.failed, done.skipped, done.pending) == (22, 1, 2, 0)
    assert done.percent == 100 and done.status == "finished"
    # Nothing is sending any more: no rate, no ETA.
    assert done.rate_per_minute is None and done.eta_seconds is None and done.eta_at is None


def test_rate_is_over_the_recent_window_and_eta_follows(
    smtp_server, no_celery, mailing_list, email_publication
):
    make_subscribers(mailing_list, 30)
    send = publish(email_publication)
    now = timezone.now()
    EmailSend.objects.filter(pk=send.pk).update(frozen_at=now - datetime.timedelta(hours=1))
    send.refresh_from_db()
    rows = list(Delivery.objects.filter(publication=email_publication).order_by("pk"))
    # 10 sent within the window (5 minutes), 5 long before it: 10 / 5 = 2 a minute.
    for row in rows[:10]:
        row.status, row.sent_at = Delivery.Status.SENT, now - datetime.timedelta(minutes=1)
    for row in rows[10:15]:
        row.status, row.sent_at = Delivery.Status.SENT, now - datetime.timedelta(minutes=30)
    Delivery.objects.bulk_update(rows, ["status", "sent_at"])

    progress = send_progress(send, now=now)

    assert progress.rate_per_minute == 10 / (RATE_WINDOW.total_seconds() / 60)
    assert progress.pending == 15
    assert progress.eta_seconds == round(15 / progress.rate_per_minute * 60)
    assert progress.eta_at == now + datetime.timedelta(seconds=progress.eta_seconds)


def test_a_send_that_just_began_is_measured_over_its_own_time(
    smtp_server, no_celery, mailing_list, email_publication
):
    make_subscribers(mailing_list, 12)
    send = publish(email_publication)
    now = send.frozen_at + datetime.timedelta(seconds=30)
    rows = list(Delivery.objects.filter(publication=email_publication).order_by("pk")[:6])
    for row in rows:
        row.status, row.sent_at = Delivery.Status.SENT, now - datetime.timedelta(seconds=5)
    Delivery.objects.bulk_update(rows, ["status", "sent_at"])

    # 6 in the 30 seconds since it began: 12 a minute, not 6 / 5 minutes.
    assert send_progress(send, now=now).rate_per_minute == 12


def test_paused_and_stalled_sends_have_no_eta(
    smtp_server, no_celery, mailing_list, email_publication
):
    make_subscribers(mailing_list, 20)
    send = publish(email_publication)
    stalled = send_progress(send, now=timezone.now() + datetime.timedelta(hours=1))
    assert stalled.rate_per_minute == 0 and stalled.eta_seconds is None
    services.pause_email_send(send)
    paused = send_progress(EmailSend.objects.get(pk=send.pk))
    assert paused.rate_per_minute is None and paused.eta_seconds is None
    assert 0 <= paused.percent <= 100


def test_progress_json_follows_the_send_and_stops_running_when_finished(
    client, marketer, smtp_server, no_celery, mailing_list, email_publication
):
    make_subscribers(mailing_list, 15)
    send = publish(email_publication)
    services.send_next_batch(send.pk)
    client.force_login(marketer)
    url = reverse("email_progress", args=[email_publication.pk])

    data = json.loads(client.get(url).content)
    assert data["running"] is True
    figures = data["progress"]
    assert (figures["sent"], figures["pending"], figures["total"]) == (10, 5, 15)
    assert figures["percent"] == 66 and figures["rate_per_minute"] > 0
    assert 'value="66"' in data["html"] and "Still to send" in data["html"]

    drain(send)
    data = json.loads(client.get(url).content)
    assert data["running"] is False
    assert data["progress"]["percent"] == 100 and data["progress"]["eta_seconds"] is None
    assert "none: nothing is being sent" in data["html"]
    assert 'value="pause"' not in data["html"]


def test_sends_menu_item_for_a_marketer_not_for_an_editor(client, marketer):
    Group.objects.get_or_create(name="Editors")
    editor = UserFactory(username="editor", groups=["Editors"])
    sends_url = reverse("email_sends")

    client.force_login(marketer)
    assert f'"{sends_url}"' in client.get(reverse("wagtailadmin_home")).content.decode()
    client.force_login(editor)
    assert f'"{sends_url}"' not in client.get(reverse("wagtailadmin_home")).content.decode()


def test_sends_list_shows_running_first_with_progress_and_links(
    client, marketer, home_page, smtp_server, no_celery, mailing_list, email_account
):
    make_subscribers(mailing_list, 15)
    later = PublicationFactory(
        page=make_email_issue(home_page, title="Later issue", slug="later", subject="Later"),
        channel_account=email_account,
    )
    running = PublicationFactory(
        page=make_email_issue(home_page, title="Running issue", slug="running", subject="Now"),
        channel_account=email_account,
    )
    send = publish(running)
    services.send_next_batch(send.pk)
    client.force_login(marketer)

    body = client.get(reverse("email_sends")).content.decode()

    assert body.index("Running issue") < body.index("Later issue")
    assert reverse("email_overview", args=[running.pk]) in body
    assert reverse("email_overview", args=[later.pk]) in body
    assert "10 of 15 sent" in body


@pytest.mark.parametrize(
    "minutes_ahead, watched", [(5, True), (60 * 24, False)], ids=["due-soon", "tomorrow"]
)
def test_a_panel_open_on_a_send_due_soon_watches_for_its_start(
    client, marketer, email_publication, minutes_ahead, watched
):
    """Left open before the publish time, the panel sees the send start by itself."""
    from campaigns.models import Publication

    Publication.objects.filter(pk=email_publication.pk).update(
        status=Publication.Status.SCHEDULED,
        publish_at=timezone.now() + datetime.timedelta(minutes=minutes_ahead),
    )
    client.force_login(marketer)

    data = json.loads(client.get(reverse("email_progress", args=[email_publication.pk])).content)
    page = client.get(reverse("email_overview", args=[email_publication.pk])).content.decode()

    assert data["running"] is watched
    assert f'data-running="{"true" if watched else "false"}"' in page
