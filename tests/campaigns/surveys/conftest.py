"""Survey pages, a publication of each to some recipients, and their links."""

import pytest
from django.utils import timezone

from analytics import visits
from analytics.link_cache import LINK_CACHE
from analytics.tokens import message_token
from campaigns.audiences.services import recipient_key
from campaigns.surveys.models import NpsSurveyPage, ServqualSurveyPage
from tests.campaigns.audiences.factories import MailingListFactory, subscribe_many
from tests.channels.email.conftest import (  # noqa: F401 - the sink's fixtures, re-exported
    email_account,
    mailing_list,
    no_celery,
    smtp_server,
)
from tests.factories import ChannelAccountFactory, PublicationFactory, add_child

BASE = "https://hub.example.com"


@pytest.fixture(autouse=True)
def hub_base(settings, monkeypatch):
    settings.SITE_BASE_URL = BASE
    settings.REDIS_URL = ""
    monkeypatch.setattr(visits, "_own_prefixes", ())
    LINK_CACHE.clear()
    yield
    LINK_CACHE.clear()


def make_nps(home, **kwargs) -> NpsSurveyPage:
    fields = {"title": "Customer NPS", "slug": "customer-nps", "intro": "<p>Two seconds.</p>"}
    fields.update(kwargs)
    return add_child(home, NpsSurveyPage(**fields))


def make_servqual(home, **kwargs) -> ServqualSurveyPage:
    fields = {"title": "Service quality", "slug": "service-quality"}
    fields.update(kwargs)
    return add_child(home, ServqualSurveyPage(**fields))


@pytest.fixture
def nps_page(home_page):
    return make_nps(home_page)


@pytest.fixture
def servqual_page(home_page):
    return make_servqual(home_page)


@pytest.fixture
def readers(db):
    return subscribe_many(MailingListFactory(slug="survey-list"), 3, prefix="surveyed")


def publication_of(page, **kwargs):
    kwargs.setdefault("channel_account", ChannelAccountFactory(kind="email/smtp"))
    kwargs.setdefault("published_at", timezone.now())
    return PublicationFactory(page=page, **kwargs)


def token_for(publication, subscriber) -> str:
    return message_token(publication.pk, recipient_key(subscriber.pk))


def answer_url(page, token="", **query) -> str:
    url = f"/surveys/{page.pk}/answer/?m={token}"
    for key, value in query.items():
        url += f"&{key}={value}"
    return url


def answer_nps(client, page, token, score, comment=""):
    """What the answer form posts: the score chosen and the follow-up comment."""
    return client.post(answer_url(page), {"m": token, "score": score, "comment": comment})
