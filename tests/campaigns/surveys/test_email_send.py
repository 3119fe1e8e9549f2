"""A survey sent through the email channel to the loopback SMTP sink: each recipient's
message carries their own answer links, and a click through the tracked redirect is
counted as a click and opens that recipient's answer form with the score chosen; the
form's POST records the answer."""

from urllib.parse import parse_qs, urlsplit

import lxml.html
import pytest
from django.utils import translation

from analytics.models import Event
from analytics.tokens import parse_message_token
from campaigns.audiences.services import recipient_key
from campaigns.surveys.models import SurveyResponse
from tests.channels.email.conftest import drain, publish
from tests.factories import PublicationFactory

from .conftest import answer_nps, make_nps, make_servqual

pytestmark = pytest.mark.django_db


def _html_of(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def _links(html: str) -> dict[str, str]:
    doc = lxml.html.fromstring(html)
    return {a.text_content().strip(): a.get("href") for a in doc.xpath("//a[@href]")}


def _sent_messages(handler) -> dict[str, object]:
    return {rcpts[0]: message for rcpts, message in handler.parsed()}


def test_each_recipient_gets_their_own_score_links(
    client, home_page, email_account, mailing_list, smtp_server, no_celery
):
    from tests.campaigns.audiences.factories import subscribe_many

    readers = subscribe_many(mailing_list, 3, prefix="npsreader")
    page = make_nps(home_page)
    publication = PublicationFactory(page=page, channel_account=email_account)
    drain(publish(publication))
    _controller, handler = smtp_server
    messages = _sent_messages(handler)
    assert set(messages) == {r.email for r in readers}

    tokens = {}
    for reader in readers:
        html = _html_of(messages[reader.email])
        assert page.question in html
        assert "Two seconds." in html  # the intro
        links = _links(html)
        score_links = {label: href for label, href in links.items() if label.isdigit()}
        assert sorted(score_links, key=int) == [str(n) for n in range(11)]
        for href in score_links.values():
            assert href.startswith("https://hub.example.com/t/")
            token = parse_qs(urlsplit(href).query)["m"][0]
            assert parse_message_token(token) == (publication.pk, recipient_key(reader.pk))
        tokens[reader.email] = score_links
    # Different people, different links.
    assert tokens[readers[0].email]["9"] != tokens[readers[1].email]["9"]

    # Reader 1 clicks 9: the redirect counts the click and passes the token on.
    href = tokens[readers[1].email]["9"]
    redirect = client.get(href.removeprefix("https://hub.example.com"))
    assert redirect.status_code == 302
    location = redirect["Location"]
    parts = urlsplit(location)
    assert parts.path == f"/surveys/{page.pk}/answer/"
    assert parse_qs(parts.query)["score"] == ["9"]
    assert parse_message_token(parse_qs(parts.query)["m"][0]) == (
        publication.pk,
        recipient_key(readers[1].pk),
    )
    click = Event.objects.get(kind="click")
    assert click.message_key == f"{publication.pk}:{recipient_key(readers[1].pk)}"
    response = client.get(location.removeprefix("https://hub.example.com"))
    assert response.status_code == 200
    assert 'name="score" value="9" checked' in response.content.decode()
    assert not SurveyResponse.objects.exists()  # opening a link answers nothing
    token = parse_qs(parts.query)["m"][0]
    response = answer_nps(client, page, token, 9)
    assert response.status_code == 200
    answer = SurveyResponse.objects.get()
    assert (answer.subscriber_id, answer.score, answer.publication_id) == (
        readers[1].pk,
        9,
        publication.pk,
    )


def test_servqual_email_has_a_button_to_the_form(
    client, home_page, email_account, mailing_list, smtp_server, no_celery
):
    from tests.campaigns.audiences.factories import subscribe_many

    reader = subscribe_many(mailing_list, 1, prefix="sqreader")[0]
    page = make_servqual(home_page, language="zh-hans")
    publication = PublicationFactory(page=page, channel_account=email_account)
    drain(publish(publication))
    _controller, handler = smtp_server
    html = _html_of(_sent_messages(handler)[reader.email])
    links = _links(html)
    with translation.override("zh-hans"):
        label = translation.gettext("Answer the survey")
    assert label != "Answer the survey"
    button = [href for text, href in links.items() if text == label]
    assert len(button) == 1 and "?m=" in button[0]
    location = client.get(button[0].removeprefix("https://hub.example.com"))["Location"]
    form = client.get(location.removeprefix("https://hub.example.com"))
    assert form.status_code == 200
    assert page.survey_items()[0]["expectation"] in form.content.decode()


def test_other_own_pages_never_receive_the_token(client, home_page, email_account):
    """The redirect passes `m` on only to /surveys/ pages."""
    from analytics.links import tracked_url

    publication = PublicationFactory(page=make_nps(home_page), channel_account=email_account)
    url = tracked_url(
        "https://hub.example.com/blog/post/", publication=publication, channel="email"
    )
    token = "QUJD.abcdefghijklmnop"
    response = client.get(url.removeprefix("https://hub.example.com") + f"?m={token}")
    assert response.status_code == 302
    parts = urlsplit(response["Location"])
    assert parts.path == "/blog/post/"
    assert "m" not in parse_qs(parts.query)
