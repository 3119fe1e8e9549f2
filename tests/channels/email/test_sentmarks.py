"""A worker killed mid-batch never causes a second copy (channels.email.sentmarks), and
its claimed rows come back once their lease has expired (PostgreSQL)."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from channels.email import services
from channels.email.models import Delivery

from .conftest import make_subscribers, publish

ROOT = Path(__file__).resolve().parents[3]


_CHILD = """
import django, os, sys
django.setup()
from channels.email import services
services.send_next_batch(int(sys.argv[1]))
"""


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("stall_on", ["rcpt", "data"])
def test_killed_worker_then_recovery_never_sends_anyone_twice(
    postgres, smtp_server, no_celery, mailing_list, email_publication, stall_on
):
    """The worker is killed while the server hangs on the 5th message of its batch of
    10: before it sent any of that message ("rcpt": sent again later, once), or after
    its end-of-data ("data": the server had the whole message, so it is never sent
    again; this test server drops it, a real one would deliver it)."""
    _controller, handler = smtp_server
    make_subscribers(mailing_list, 25)
    send = publish(email_publication)
    handler.stall_after = 4
    handler.stall_on = stall_on

    settings_dict = connection.settings_dict
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=(
            f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:"
            f"{settings_dict['PORT']}/{settings_dict['NAME']}"
        ),
    )
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(send.pk)], cwd=ROOT, env=env)
    try:
        assert handler.stalled.wait(60), "child never reached the SMTP server"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    handed_over = 4 if stall_on == "rcpt" else 5
    assert len(handler.messages) == 4
    assert Delivery.objects.filter(status=Delivery.Status.SENT).count() == handed_over
    assert Delivery.objects.filter(status=Delivery.Status.SENDING).count() == 10 - handed_over
    stalled = Delivery.objects.order_by("pk")[4]
    handler.stall_after = None

    # While the lease runs, nobody else takes the dead worker's rows.
    services.send_next_batch(send.pk)
    assert Delivery.objects.filter(status=Delivery.Status.SENDING).count() == 10 - handed_over
    # Lease expired (the pump does this): the rows go back and are sent once.
    from datetime import timedelta

    assert services.release_stale_claims(send.pk, lease=timedelta(0)) == 10 - handed_over
    for _ in range(10):
        if not services.send_next_batch(send.pk).claimed:
            break
    counts = handler.count_by_recipient()
    assert set(counts.values()) == {1}
    if stall_on == "rcpt":
        assert len(counts) == 25
    else:
        assert len(counts) == 24 and stalled.email not in counts
    assert Delivery.objects.filter(status=Delivery.Status.SENT).count() == 25
