"""Claimed batches under real concurrency (channels.email.claims): PostgreSQL row locks
keep parallel batch tasks from ever sharing a recipient."""

import threading

import pytest
from django.db import connection

from channels.email import services
from channels.email.models import EmailSend

from .conftest import make_subscribers, publish


@pytest.mark.django_db(transaction=True)
def test_parallel_batch_tasks_never_share_a_recipient(
    postgres, smtp_server, no_celery, mailing_list, email_publication
):
    _controller, handler = smtp_server
    make_subscribers(mailing_list, 60)
    send = publish(email_publication)
    errors = []

    def worker():
        try:
            for _ in range(20):
                if not services.send_next_batch(send.pk).claimed:
                    break
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    counts = handler.count_by_recipient()
    assert len(counts) == 60 and set(counts.values()) == {1}
    send.refresh_from_db()
    assert send.status == EmailSend.Status.FINISHED
