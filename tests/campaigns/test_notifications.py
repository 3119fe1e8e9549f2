"""Owner notifications: the admin notice, the email after commit, shown once, read."""

import pytest
from django.conf import settings
from django.core import mail

from campaigns import notifications
from campaigns.models import Notification
from tests.factories import CampaignFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_notice_and_email_sent_after_commit(django_capture_on_commit_callbacks):
    campaign = CampaignFactory(name="Spring")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        note = notifications.notify_user(campaign.owner, "Look at this", campaign=campaign)
    assert Notification.objects.get() == note and note.level == Notification.Level.INFO
    assert mail.outbox == []  # not before the commit
    for callback in callbacks:
        callback()
    (message,) = mail.outbox
    assert message.to == [campaign.owner.email]
    assert message.subject == "[Campaign Hub] Spring"
    # The text, then the way to the screen where the reader acts (the campaign).
    assert message.body == (
        f"Look at this\n\nOpen: {settings.WAGTAILADMIN_BASE_URL}/admin/campaigns/{campaign.pk}/"
    )


def test_no_email_without_an_address_or_when_not_wanted(django_capture_on_commit_callbacks):
    silent = UserFactory(username="silent", email="")
    loud = UserFactory(username="loud")
    with django_capture_on_commit_callbacks(execute=True):
        notifications.notify_user(silent, "one")
        notifications.notify_user(loud, "two", email=False)
    assert mail.outbox == []
    assert Notification.objects.count() == 2


def test_publication_problem_goes_to_the_campaign_owner_as_an_error(
    make_pub, django_capture_on_commit_callbacks
):
    pub = make_pub(3600)
    with django_capture_on_commit_callbacks(execute=True):
        note = notifications.notify_publication_problem(pub, "It broke")
    assert note.user == pub.campaign.owner
    assert (note.level, note.publication, note.campaign) == (
        Notification.Level.ERROR, pub, pub.campaign,
    )  # fmt: skip
    assert mail.outbox[0].subject == f"[Campaign Hub] {pub.campaign.name}"


def test_each_notice_is_shown_once_then_listed_until_read():
    user = UserFactory(username="reader")
    for n in range(7):
        notifications.notify_user(user, f"note {n}", email=False)
    first = notifications.pop_unshown_notifications(user)
    assert [n.message for n in first] == [f"note {n}" for n in range(5)]
    assert [n.message for n in notifications.pop_unshown_notifications(user)] == [
        "note 5",
        "note 6",
    ]
    assert notifications.pop_unshown_notifications(user) == []
    assert notifications.mark_notifications_read(user) == 7
    assert notifications.mark_notifications_read(user) == 0
    assert not Notification.objects.filter(read_at__isnull=True).exists()
