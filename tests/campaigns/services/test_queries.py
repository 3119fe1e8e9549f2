"""The admin's read-only queries."""

import pytest

from campaigns import services
from campaigns.models import Publication

S = Publication.Status
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("immediate_on_commit")]


def test_summary_counts_every_status_and_problems_list_failed_and_unknown(
    make_pub, campaign, fake_account, run_due
):
    fake_account.settings = {"mode": "permanent"}
    fake_account.save()
    failed = make_pub(-1)
    run_due()
    scheduled = make_pub(3600)
    services.pause_publication(make_pub(7200))
    summary = services.campaign_summary(campaign)
    assert set(summary) == set(S.values)
    assert (summary[S.FAILED], summary[S.SCHEDULED], summary[S.PAUSED]) == (1, 1, 1)
    assert summary[S.PUBLISHED] == 0
    assert list(services.failed_publications(campaign)) == [failed]
    assert scheduled not in services.failed_publications(campaign)
