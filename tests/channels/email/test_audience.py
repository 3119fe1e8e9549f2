"""Choosing and freezing who receives an email publication (channels.email.audience)."""

import pytest

from campaigns.audiences.models import Subscription, Suppression
from channels.base import PublishError
from channels.email import services
from channels.email.adapter import EmailAdapter
from channels.email.models import Delivery
from tests.campaigns.audiences.factories import MailingListFactory

from .conftest import drain, make_subscribers, publish


@pytest.mark.django_db
def test_suppressed_and_unsubscribed_are_never_frozen_in(
    smtp_server, no_celery, mailing_list, email_publication
):
    _controller, handler = smtp_server
    subs = make_subscribers(mailing_list, 4)
    Suppression.objects.create(email=subs[0].email, reason="hard_bounce")
    Suppression.objects.create(email=subs[1].email.upper(), reason="complaint")
    Subscription.objects.filter(subscriber=subs[2]).update(status="unsubscribed")
    drain(publish(email_publication))
    assert handler.count_by_recipient() == {subs[3].email: 1}


@pytest.mark.django_db
def test_publish_twice_freezes_once(smtp_server, no_celery, mailing_list, email_publication):
    make_subscribers(mailing_list, 5)
    send = publish(email_publication)
    make_subscribers(mailing_list, 2, prefix="late")
    again = publish(email_publication)
    assert again.pk == send.pk
    assert Delivery.objects.filter(publication=email_publication).count() == 5
    adapter = EmailAdapter(email_publication.channel_account)
    existing = adapter.find_existing(email_publication)
    assert existing.external_id == f"email-send:{send.pk}"


@pytest.mark.django_db
def test_chosen_list_is_frozen_instead_of_the_default(
    smtp_server, no_celery, mailing_list, email_publication
):
    _controller, handler = smtp_server
    make_subscribers(mailing_list, 2)
    other = MailingListFactory(slug="vip", name="VIP")
    vips = make_subscribers(other, 3, prefix="vip")
    services.set_email_audience(email_publication, other)
    send = publish(email_publication)
    assert send.mailing_list == other and send.recipient_count == 3
    drain(send)
    assert handler.count_by_recipient() == {v.email: 1 for v in vips}


@pytest.mark.django_db
def test_audience_cannot_change_once_frozen(
    smtp_server, no_celery, mailing_list, email_publication
):
    make_subscribers(mailing_list, 1)
    publish(email_publication)
    with pytest.raises(ValueError, match="frozen"):
        services.set_email_audience(email_publication, MailingListFactory(slug="later"))


@pytest.mark.django_db
def test_no_list_at_all_is_a_permanent_error(email_publication):
    account = email_publication.channel_account
    account.settings = {**account.settings, "default_list": "no-such-list"}
    account.save()
    adapter = EmailAdapter(account)
    with pytest.raises(PublishError) as exc:
        adapter.publish(email_publication, adapter.render(email_publication))
    assert exc.value.permanent
    assert not Delivery.objects.exists()
