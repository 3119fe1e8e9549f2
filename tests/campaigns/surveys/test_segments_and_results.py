"""The "Survey answer" segment condition (counts against brute force), results per
campaign and per segment, the CSV, and the results screen reached by clicking."""

import csv
import io
import random

import pytest

from campaigns.audiences import services as audience_services
from campaigns.audiences.models import Segment
from campaigns.audiences.segments import SegmentError, clean_filters
from campaigns.surveys import results
from campaigns.surveys.models import SurveyResponse
from campaigns.surveys.scoring import respondent_gap
from tests.campaigns.audiences.factories import MailingListFactory, subscribe_many
from tests.factories import UserFactory

from .conftest import make_nps, make_servqual, publication_of

pytestmark = pytest.mark.django_db


def _answer(page, publication, subscriber, **fields):
    return SurveyResponse.objects.create(
        page_id=page.pk,
        kind=page.survey_kind,
        publication=publication,
        campaign=publication.campaign,
        subscriber=subscriber,
        **fields,
    )


@pytest.fixture
def answered(home_page):
    """60 people; an NPS survey answered by 50 with random scores, a SERVQUAL survey
    answered by 30 with random ratings."""
    rng = random.Random(21)
    mailing_list = MailingListFactory(slug="answered")
    people = subscribe_many(mailing_list, 60, prefix="answered")
    nps = make_nps(home_page)
    sq = make_servqual(home_page)
    nps_pub, sq_pub = publication_of(nps), publication_of(sq)
    items = sq.survey_items()
    for person in people[:50]:
        _answer(nps, nps_pub, person, score=rng.randint(0, 10))
    for person in people[10:40]:
        answers = {side: {i["id"]: rng.randint(1, 7) for i in items} for side in ("e", "p")}
        _answer(sq, sq_pub, person, answers=answers, gap=respondent_gap(items, answers))
    return mailing_list, people, nps, sq


def _count(mailing_list, op, page):
    filters = clean_filters(
        {"match": "all", "rules": [{"field": "survey", "op": op, "value": str(page.pk)}]}
    )
    return audience_services.audience_count(mailing_list, filters=filters)


@pytest.mark.parametrize(
    ("op", "test"),
    [
        ("nps_detractor", lambda r: r.score is not None and r.score <= 6),
        ("nps_passive", lambda r: r.score is not None and 7 <= r.score <= 8),
        ("nps_promoter", lambda r: r.score is not None and r.score >= 9),
        ("servqual_low", lambda r: r.gap is not None and r.gap < -1),
    ],
)
def test_segment_counts_match_brute_force(answered, op, test):
    mailing_list, _people, nps, sq = answered
    page = sq if op == "servqual_low" else nps
    expected = {r.subscriber_id for r in SurveyResponse.objects.filter(page_id=page.pk) if test(r)}
    assert expected, "the random data should give every group someone"
    assert _count(mailing_list, op, page) == len(expected)


def test_segment_condition_needs_a_survey(answered):
    with pytest.raises(SegmentError):
        clean_filters({"rules": [{"field": "survey", "op": "nps_detractor", "value": "999999"}]})


def test_results_by_campaign_and_segment(answered):
    mailing_list, people, nps, _sq = answered
    everyone = results.summary(nps)
    scores = list(SurveyResponse.objects.filter(page_id=nps.pk).values_list("score", flat=True))
    promoters = sum(s >= 9 for s in scores)
    detractors = sum(s <= 6 for s in scores)
    assert everyone["answers"] == 50
    assert everyone["nps"] == round(100 * (promoters - detractors) / 50, 1)
    # A segment of the people tagged "vip": the first 20.
    for person in people[:20]:
        person.tags = ["vip"]
        person.save()
    segment = Segment.objects.create(
        name="VIP",
        mailing_list=mailing_list,
        filters={"match": "all", "rules": [{"field": "tag", "op": "is", "value": "vip"}]},
    )
    vip_scores = [
        s
        for sid, s in SurveyResponse.objects.filter(page_id=nps.pk).values_list(
            "subscriber_id", "score"
        )
        if sid in {p.pk for p in people[:20]}
    ]
    by_segment = results.summary(nps, segment=segment)
    assert by_segment["answers"] == 20
    assert by_segment["promoters"] == sum(s >= 9 for s in vip_scores)
    # Another campaign's answers stay out of this campaign's figures.
    other = publication_of(nps)
    _answer(nps, other, people[55], score=0)
    first_campaign = SurveyResponse.objects.filter(page_id=nps.pk).first().campaign_id
    assert results.summary(nps, campaign_id=first_campaign)["answers"] == 50
    assert results.summary(nps)["answers"] == 51


def test_results_screen_reached_by_clicking_and_csv(client, answered):
    _ml, people, nps, sq = answered
    # An editor-administrator finds the Results button on the page's header.
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    explorer = client.get(f"/admin/pages/{nps.pk}/edit/")
    assert f"/admin/surveys/{nps.pk}/results/" in explorer.content.decode()
    # A marketer through the menu: Survey results, then the survey.
    client.force_login(UserFactory(groups=["Marketers"]))
    home = client.get("/admin/")
    assert "/admin/surveys/" in home.content.decode()
    index = client.get("/admin/surveys/")
    assert f"/admin/surveys/{nps.pk}/results/" in index.content.decode()
    page = client.get(f"/admin/surveys/{nps.pk}/results/")
    assert page.status_code == 200
    assert "data-nps" in page.content.decode()
    assert str(results.summary(nps)["nps"]) in page.content.decode()
    sq_page = client.get(f"/admin/surveys/{sq.pk}/results/")
    assert "Tangibles" in sq_page.content.decode()
    exported = client.get(f"/admin/surveys/{nps.pk}/results/?format=csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode())))
    assert rows[0] == ["answered_at", "campaign", "email", "score", "category", "comment"]
    assert len(rows) == 51
    sq_rows = list(
        csv.reader(
            io.StringIO(client.get(f"/admin/surveys/{sq.pk}/results/?format=csv").content.decode())
        )
    )
    assert len(sq_rows) == 31 and len(sq_rows[0]) == 4 + 44 + 1


def test_results_refused_to_editors(client, answered):
    _ml, _people, nps, _sq = answered
    client.force_login(UserFactory(groups=["Editors"]))
    assert client.get(f"/admin/surveys/{nps.pk}/results/").status_code in (302, 403)


def test_campaign_page_links_to_results(client, answered):
    _ml, _people, nps, _sq = answered
    publication = SurveyResponse.objects.filter(page_id=nps.pk).first().publication
    client.force_login(UserFactory(groups=["Marketers"]))
    detail = client.get(f"/admin/campaigns/{publication.campaign_id}/")
    assert detail.status_code == 200
    assert (
        f"/admin/surveys/{nps.pk}/results/?campaign={publication.campaign_id}"
        in detail.content.decode()
    )
