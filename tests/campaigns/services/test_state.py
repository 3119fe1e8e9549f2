"""The state machine: the backoff, the transition table and the audit log."""

import pytest
from django.db import transaction

from campaigns import services
from campaigns.models import Publication

S = Publication.Status
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("immediate_on_commit")]


def test_backoff_honours_retry_after_and_stays_under_visibility_timeout(settings):
    settings.CAMPAIGNS_RETRY_BASE_SECONDS = 30
    settings.CAMPAIGNS_RETRY_MAX_SECONDS = 10_000
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
    assert services.retry_backoff(1) == 30
    assert services.retry_backoff(1, retry_after=300) == 300
    assert services.retry_backoff(20) == 1800  # half the visibility timeout


def test_every_transition_is_logged_with_actor(make_pub, campaign):
    pub = make_pub(3600)
    owner = campaign.owner
    services.pause_publication(pub, owner, "waiting for legal")
    event = pub.events.last()
    assert (event.from_status, event.to_status, event.actor, event.reason) == (
        S.SCHEDULED, S.PAUSED, owner, "waiting for legal",
    )  # fmt: skip


def test_illegal_transition_refused(run_due, make_pub):
    pub = make_pub(-1)
    run_due()
    with pytest.raises(services.InvalidTransition, match="already published"):
        services.cancel_publication(pub)


def test_transition_refuses_what_the_table_forbids_and_changes_nothing(make_pub):
    pub = make_pub(3600)
    events = pub.events.count()
    with pytest.raises(services.InvalidTransition, match="cannot go from"):
        with transaction.atomic():
            services.transition(pub, S.PUBLISHING, None, "skip the queue")
    pub.refresh_from_db()
    assert pub.status == S.SCHEDULED and pub.events.count() == events


def test_published_is_final_and_a_reported_success_is_recorded_from_any_state():
    assert services.TRANSITIONS[S.PUBLISHED] == set()
    # A cancelled row can only learn that its post went out after all.
    assert services.TRANSITIONS[S.CANCELLED] == {S.PUBLISHED}
    for status in set(S) - {S.PUBLISHED}:
        assert S.PUBLISHED in services.TRANSITIONS[status], status


def test_max_attempts_follows_the_setting(settings):
    settings.CAMPAIGNS_PUBLISH_MAX_ATTEMPTS = 7
    assert services.max_attempts() == 7
