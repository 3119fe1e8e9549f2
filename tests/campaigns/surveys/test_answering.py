"""Answering through the signed link: one answer per recipient, refused tokens, the
page without a token, the SERVQUAL form, zh-Hans defaults."""

import datetime
import threading

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from analytics.tokens import message_token
from campaigns.surveys import services
from campaigns.surveys.defaults import SERVQUAL_ITEMS
from campaigns.surveys.models import SurveyResponse

from .conftest import answer_nps, answer_url, make_nps, make_servqual, publication_of, token_for


def test_a_click_shows_the_score_chosen_and_records_nothing(client, nps_page, readers):
    """Mail scanners open every link of an email: opening a score link answers nothing;
    the form shows that score chosen, with the follow-up question, and its POST answers."""
    publication = publication_of(nps_page)
    token = token_for(publication, readers[0])
    for score in range(11):  # what a scanner does
        response = client.get(answer_url(nps_page, token, score=score))
        assert response.status_code == 200
    assert not SurveyResponse.objects.exists()
    body = client.get(answer_url(nps_page, token, score=9)).content.decode()
    assert 'name="score" value="9" checked' in body
    assert body.count(" checked") == 1
    assert nps_page.comment_prompt in body
    assert 'method="post"' in body and "csrfmiddlewaretoken" in body
    assert not SurveyResponse.objects.exists()

    response = answer_nps(client, nps_page, token, 9, "Fast answers.")
    assert response.status_code == 200
    assert "Thank you" in response.content.decode()
    row = SurveyResponse.objects.get()
    assert (row.subscriber, row.score, row.comment, row.publication, row.campaign) == (
        readers[0],
        9,
        "Fast answers.",
        publication,
        publication.campaign,
    )


def test_the_answer_is_posted_with_the_csrf_token(nps_page, readers):
    browser = Client(enforce_csrf_checks=True)
    token = token_for(publication_of(nps_page), readers[0])
    form = browser.get(answer_url(nps_page, token, score=4))
    forged = browser.post(answer_url(nps_page), {"m": token, "score": "4"})
    assert forged.status_code == 403
    assert not SurveyResponse.objects.exists()
    csrf = form.context["csrf_token"]
    response = browser.post(
        answer_url(nps_page), {"m": token, "score": "4", "csrfmiddlewaretoken": str(csrf)}
    )
    assert response.status_code == 200
    assert SurveyResponse.objects.get().score == 4


def test_a_post_without_a_score_asks_again(client, nps_page, readers):
    token = token_for(publication_of(nps_page), readers[0])
    for score in ("", "11", "-1", "x"):
        response = client.post(answer_url(nps_page), {"m": token, "score": score, "comment": "hi"})
        assert response.status_code == 400
        body = response.content.decode()
        assert "Please choose a score from 0 to 10." in body
        assert " checked" not in body and ">hi</textarea>" in body
    assert not SurveyResponse.objects.exists()


def test_a_second_answer_is_refused_politely(client, nps_page, readers):
    token = token_for(publication_of(nps_page), readers[0])
    answer_nps(client, nps_page, token, 3)
    response = client.get(answer_url(nps_page, token, score=10))
    assert "You have already answered, thank you." in response.content.decode()
    response = answer_nps(client, nps_page, token, 10, "changed my mind")
    assert "You have already answered, thank you." in response.content.decode()
    assert list(SurveyResponse.objects.values_list("score", "comment")) == [(3, "")]
    # A follow-up form served before the fix (comment only) adds the comment once.
    client.post(answer_url(nps_page), {"m": token, "comment": "first"})
    client.post(answer_url(nps_page), {"m": token, "comment": "second"})
    assert SurveyResponse.objects.get().comment == "first"


def test_each_recipient_answers_for_themself(client, nps_page, readers):
    publication = publication_of(nps_page)
    for reader, score in zip(readers, (0, 7, 10), strict=True):
        answer_nps(client, nps_page, token_for(publication, reader), score)
    assert dict(SurveyResponse.objects.values_list("subscriber_id", "score")) == {
        readers[0].pk: 0,
        readers[1].pk: 7,
        readers[2].pk: 10,
    }


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature altered
        lambda t: "x" + t,  # payload altered
        lambda t: "",  # no token
        lambda t: "not-a-token",
    ],
)
def test_a_forged_token_is_refused(client, nps_page, readers, mangle):
    token = mangle(token_for(publication_of(nps_page), readers[0]))
    response = client.get(answer_url(nps_page, token, score=9))
    assert response.status_code == 403
    assert "This link is not valid" in response.content.decode()
    assert answer_nps(client, nps_page, token, 9).status_code == 403
    assert not SurveyResponse.objects.exists()


def test_a_token_of_another_page_or_another_key_is_refused(
    client, nps_page, home_page, readers, settings
):
    other = make_nps(home_page, title="Other", slug="other-nps")
    token = token_for(publication_of(other), readers[0])
    assert client.get(answer_url(nps_page, token, score=9)).status_code == 403
    # Signed with another secret: what an outsider could make.
    publication = publication_of(nps_page)
    settings.SECRET_KEY = "someone-else" * 5
    forged = message_token(publication.pk, f"s{readers[0].pk}")
    settings.SECRET_KEY = "x" * 50
    assert client.get(answer_url(nps_page, forged, score=9)).status_code == 403
    assert answer_nps(client, nps_page, forged, 9).status_code == 403
    assert not SurveyResponse.objects.exists()


def test_an_expired_token_is_refused(client, nps_page, readers, settings):
    settings.SURVEYS_ANSWER_DAYS = 14
    sent = timezone.now() - datetime.timedelta(days=15)
    token = token_for(publication_of(nps_page, published_at=sent), readers[0])
    response = client.get(answer_url(nps_page, token, score=9))
    assert response.status_code == 403
    assert "link in your email has expired" in response.content.decode()
    assert answer_nps(client, nps_page, token, 9).status_code == 403
    assert not SurveyResponse.objects.exists()
    fresh = timezone.now() - datetime.timedelta(days=13)
    token = token_for(publication_of(nps_page, published_at=fresh), readers[0])
    assert client.get(answer_url(nps_page, token, score=9)).status_code == 200


def test_the_hub_page_without_a_token_is_for_recipients_only(client, nps_page, readers):
    response = client.get(nps_page.url)
    assert response.status_code == 200
    body = response.content.decode()
    assert nps_page.question in body
    assert "open to its recipients only" in body
    assert 'href="/surveys/' not in body


@pytest.mark.django_db(transaction=True)
def test_concurrent_double_submit_keeps_one_row(home_page):
    from tests.campaigns.audiences.factories import MailingListFactory, subscribe_many

    page = make_nps(home_page)
    reader = subscribe_many(MailingListFactory(slug="race"), 1, prefix="racer")[0]
    recipient = services.recipient_for(page, token_for(publication_of(page), reader))
    if connection.vendor == "sqlite":
        # One writer at a time on SQLite: the second insert meets the constraint.
        results = [services.record_nps(page, recipient, 9), services.record_nps(page, recipient, 2)]
    else:
        barrier = threading.Barrier(2)
        results = []

        def submit(score):
            barrier.wait()
            try:
                results.append(services.record_nps(page, recipient, score))
            finally:
                connection.close()

        threads = [threading.Thread(target=submit, args=(s,)) for s in (9, 2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert SurveyResponse.objects.filter(page_id=page.pk).count() == 1
    assert sum(r is not None for r in results) == 1


def test_servqual_form_records_every_rating(client, servqual_page, readers):
    token = token_for(publication_of(servqual_page), readers[0])
    response = client.get(answer_url(servqual_page, token))
    assert response.status_code == 200
    items = servqual_page.survey_items()
    assert len(items) == 22
    assert items[0]["expectation"] in response.content.decode()
    post = {"m": token, "comment": "ok"}
    for item in items:
        post[f"e_{item['id']}"] = "6"
        post[f"p_{item['id']}"] = "5"
    missing = dict(post)
    missing.pop(f"p_{items[3]['id']}")
    response = client.post(answer_url(servqual_page), missing)
    assert response.status_code == 400
    assert "Please rate every statement" in response.content.decode()
    assert not SurveyResponse.objects.exists()
    response = client.post(answer_url(servqual_page), post)
    assert response.status_code == 200
    row = SurveyResponse.objects.get()
    assert row.gap == pytest.approx(-1.0)
    assert row.answers["e"][items[0]["id"]] == 6
    response = client.post(answer_url(servqual_page), post)
    assert "You have already answered" in response.content.decode()
    assert SurveyResponse.objects.count() == 1


def test_out_of_range_ratings_are_refused(client, servqual_page, readers):
    token = token_for(publication_of(servqual_page), readers[0])
    post = {"m": token}
    for item in servqual_page.survey_items():
        post[f"e_{item['id']}"] = "8"
        post[f"p_{item['id']}"] = "0"
    assert client.post(answer_url(servqual_page), post).status_code == 400
    assert not SurveyResponse.objects.exists()


def test_zh_hans_pages_get_chinese_defaults(home_page):
    nps = make_nps(home_page, language="zh-hans", slug="nps-zh")
    assert nps.question == "您有多大可能向朋友或同事推荐我们？"
    servqual = make_servqual(home_page, language="zh-hans", slug="sq-zh")
    items = servqual.survey_items()
    assert [i["expectation"] for i in items] == [row[3] for row in SERVQUAL_ITEMS]
    assert [i["dimension"] for i in items].count("reliability") == 5
    english = make_servqual(home_page, slug="sq-en")
    assert english.survey_items()[0]["perception"] == SERVQUAL_ITEMS[0][2]


def test_zh_hans_answer_page_speaks_chinese(client, home_page, readers):
    page = make_nps(home_page, language="zh-hans", slug="nps-zh2")
    token = token_for(publication_of(page), readers[0])
    response = client.get(answer_url(page, token, score=9))
    assert response.status_code == 200
    assert 'lang="zh-hans"' in response.content.decode()
    assert "0 = 完全不可能，10 = 极有可能" in response.content.decode()
    answer_nps(client, page, token, 9)
    response = client.get(answer_url(page, token, score=9))
    assert 'lang="zh-hans"' in response.content.decode()
