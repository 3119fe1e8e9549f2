"""The surveys' provider for the customer record: timeline, export, erasure."""

import pytest

from campaigns.people.registry import providers
from campaigns.surveys import results
from campaigns.surveys.models import SurveyResponse

from .conftest import answer_nps, publication_of, token_for

pytestmark = pytest.mark.django_db


def _provider():
    return next(p for p in providers() if p.name == "surveys")


def test_timeline_export_and_erase(client, nps_page, readers):
    publication = publication_of(nps_page)
    token = token_for(publication, readers[0])
    answer_nps(client, nps_page, token, 9, "Call me at 555-0100")
    answer_nps(client, nps_page, token_for(publication, readers[1]), 2)

    entries = _provider().timeline(readers[0], None, 10)
    assert len(entries) == 1
    assert entries[0].kind == "survey.answered"
    assert entries[0].title == "Answered NPS survey Customer NPS: 9 (promoter)"
    assert entries[0].url == f"/admin/surveys/{nps_page.pk}/results/"
    assert _provider().timeline(readers[0], entries[0].at, 10) == []

    exported = _provider().export(readers[0])
    assert exported["survey_answers"][0]["score"] == 9
    assert exported["survey_answers"][0]["comment"] == "Call me at 555-0100"
    assert _provider().last_contact([readers[0].pk]) == {readers[0].pk: entries[0].at}

    before = results.summary(nps_page)
    _provider().erase(readers[0])
    assert _provider().export(readers[0]) == {}
    assert _provider().timeline(readers[0], None, 10) == []
    assert not SurveyResponse.objects.filter(comment__contains="555").exists()
    # The score stays, anonymous: the totals do not move.
    assert results.summary(nps_page) == before
    assert SurveyResponse.objects.filter(subscriber__isnull=True, score=9).count() == 1
