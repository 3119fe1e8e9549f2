import pytest

from campaigns import services
from campaigns.models import Publication


@pytest.fixture
def immediate_on_commit(monkeypatch):
    """Tests run inside one transaction; run on_commit callbacks right away, as they
    would run after a real commit (notification emails, campaign progress, hand-off)."""
    from django.db import transaction

    monkeypatch.setattr(transaction, "on_commit", lambda fn, using=None, robust=False: fn())


@pytest.fixture
def run_due(immediate_on_commit):
    """One dispatcher pass, then run each claimed task in-process (as a worker would).
    Returns {publication id: result of publish_publication}."""

    def run(now=None):
        claimed = []
        services.claim_due_publications(now=now, enqueue=claimed.extend)
        ids = claimed or list(
            Publication.objects.filter(status=Publication.Status.QUEUED).values_list(
                "pk", flat=True
            )
        )
        return {pk: services.publish_publication(pk) for pk in ids}

    return run
