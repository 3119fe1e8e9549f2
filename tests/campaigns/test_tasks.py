"""The Celery tasks and the hand-off: the services announce claimed rows with
`publications_due`, campaigns.tasks enqueues one publish task per id."""

import pytest

from campaigns import services, tasks
from campaigns.models import Publication
from campaigns.signals import publications_due

S = Publication.Status
pytestmark = pytest.mark.django_db


def test_the_tasks_module_listens_for_claimed_rows():
    assert publications_due.has_listeners(sender=Publication)


def test_a_dispatcher_tick_publishes_through_the_task(
    make_pub, fake_channel, celery_eager, django_capture_on_commit_callbacks
):
    pubs = [make_pub(-2), make_pub(-1)]
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.dispatch_due_publications_task() == 2
    for pub in pubs:
        pub.refresh_from_db()
        assert pub.status == S.PUBLISHED and fake_channel.posts(pub) == 1


def test_the_publish_task_is_idempotent(make_pub, fake_channel):
    pub = make_pub(-1)
    services.claim_due_publications(enqueue=lambda ids: None)
    assert tasks.publish_publication_task(pub.pk) == "published"
    assert tasks.publish_publication_task(pub.pk) == "skipped"
    assert fake_channel.posts(pub) == 1


def test_the_sweeper_task_reports_what_it_did(db):
    assert tasks.sweep_stuck_publications_task() == {"requeued": 0, "recovered": 0}
