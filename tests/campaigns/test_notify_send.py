"""An email send on the marketer's home page while it runs (a progress bar, linking to
its send panel), and its owner told with the figures once it is over, against a real
SMTP server on loopback (tests/channels/email/conftest.py)."""

import pytest
from django.core import mail
from django.urls import reverse

from campaigns.audiences import services as audience_services
from campaigns.models import Notification
from channels.email import services
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

    # One reader leaves before the rest goes out: skipped, and counted as such.
    audience_services.suppress_address(subscribers[-1].email, "hard_bounce")
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
