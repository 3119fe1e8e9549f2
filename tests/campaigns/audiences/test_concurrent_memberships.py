"""Two transactions changing one person's lists at once (a long CSV import and a
sign-up) both end up in Subscriber.list_ids: the trigger locks the subscriber before
recomputing, so the second writer waits and then sees the first one's row."""

import threading
import time

import pytest
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from campaigns.audiences.models import Subscriber, Subscription

from .factories import MailingListFactory

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite has one writer at a time: two transactions cannot interleave",
)


def _subscribe(subscriber_id: int, list_id: int) -> None:
    Subscription.objects.create(
        subscriber_id=subscriber_id,
        mailing_list_id=list_id,
        status=Subscription.Status.SUBSCRIBED,
        consent_at=timezone.now(),
        consent_method=Subscription.Method.API,
    )


@pytest.mark.django_db(transaction=True)
def test_two_open_transactions_adding_lists_keep_both():
    first, second = MailingListFactory(), MailingListFactory()
    person = Subscriber.objects.create(email="both@example.org")
    first_wrote, release = threading.Event(), threading.Event()
    errors = []

    def import_job():
        try:
            with transaction.atomic():
                _subscribe(person.pk, first.pk)
                first_wrote.set()
                release.wait(10)  # the import's transaction stays open meanwhile
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    def sign_up():
        try:
            first_wrote.wait(10)
            with transaction.atomic():
                _subscribe(person.pk, second.pk)  # waits for the import to commit
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=import_job), threading.Thread(target=sign_up)]
    for thread in threads:
        thread.start()
    first_wrote.wait(10)
    time.sleep(0.5)  # the sign-up is now blocked inside its trigger
    release.set()
    for thread in threads:
        thread.join(20)

    assert not errors
    person.refresh_from_db()
    assert person.list_ids == sorted([first.pk, second.pk])
