"""An email send on the marketer's home page while it runs (a progress bar, linking to
its send panel), and its owner told with the figures once it is over, against a real
SMTP server on loopback (tests/channels/email/conftest.py)."""

import pytest
from django.core import mail
from django.urls import reverse

from campaigns.audiences import services as audience_services
from campaigns.models import Notification
from channels.email import services
from channels.email.models import Delivery
from tests.channels.email.conftest import (  # noqa: F401 - the fixtures, asked for by name
    drain,
    email_account,
    email_publication,
    mailing_list,
    make_subscribers,
    no_celery,
    publish,
    smtp_server,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_running_send_shows_its_progress_then_its_owner_hears_the_figures(
    client, request, django_capture_on_commit_callbacks
):
    request.getfixturevalue("no_celery")
    publication = request.getfixturevalue("email_publication")
    subscribers = make_subscribers(request.getfixturevalue("mailing_list"), 25)
    send = publish(publication)
    services.send_next_batch(send.pk)  # the account's batch is 10: 10 of 25 sent

    client.force_login(UserFactory(username="mia", groups=["Marketers"]))
    html = client.get("/admin/").content.decode()
    overview = reverse("email_overview", args=[publication.pk])
    assert 'id="email-sends-section"' in html and f'href="{overview}"' in html
    assert '<progress max="100" value="40"' in html
    assert "40 % (10 of 25): 10 sent, 0 failed, 0 skipped" in html
    assert not Notification.objects.filter(user=publication.campaign.owner).exists()

    # One reader not yet mailed leaves before the rest goes out: skipped, and counted as
    # such. (Which readers the first batch took depends on the freeze's order.)
    waiting = Delivery.objects.filter(publication=publication, status=Delivery.Status.PENDING)
    leaving = waiting.order_by("pk").values_list("email", flat=True).first()
    assert leaving in {s.email for s in subscribers}
    audience_services.suppress_address(leaving, "hard_bounce")
    with django_capture_on_commit_callbacks(execute=True):
        drain(send)
        services.send_next_batch(send.pk)  # a late batch finds nothing: no second notice

    owner = publication.campaign.owner
    (note,) = Notification.objects.filter(user=owner)
    assert note.message == (
        f"The email “{send.subject}” has been sent: 24 sent, 0 failed, "
        "1 skipped (unsubscribed or suppressed)."
    )
    assert note.publication == publication
    (email,) = [m for m in mail.outbox if m.to == [owner.email]]
    assert overview in email.body  # the send panel, where its figures are
    assert 'id="email-sends-section"' not in client.get("/admin/").content.decode()


def test_a_send_finished_by_the_pump_also_tells_its_owner_once(
    request, django_capture_on_commit_callbacks
):
    """A worker that died after marking its last rows leaves the send "sending" with
    nothing pending; the periodic pump closes it, and the owner hears it as from a batch."""
    from channels.email.control import active_send_ids_needing_workers
    from channels.email.models import Delivery, EmailSend

    request.getfixturevalue("no_celery")
    publication = request.getfixturevalue("email_publication")
    make_subscribers(request.getfixturevalue("mailing_list"), 3)
    send = publish(publication)
    Delivery.objects.filter(publication=publication).update(status=Delivery.Status.SENT)

    with django_capture_on_commit_callbacks(execute=True):
        assert active_send_ids_needing_workers() == []
        assert active_send_ids_needing_workers() == []  # a second tick: nothing more

    send.refresh_from_db()
    assert send.status == EmailSend.Status.FINISHED
    (note,) = Notification.objects.filter(user=publication.campaign.owner)
    assert "3 sent, 0 failed, 0 skipped" in note.message
