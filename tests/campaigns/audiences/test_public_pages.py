"""The public subscriber pages, through HTTP: each speaks the language of the subscriber
its link names (whatever the browser asks for), pages that name nobody follow the
browser, and every page is styled by its own stylesheet with no inline style block or
script (a strict Content-Security-Policy must pass)."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse
from django.utils import timezone

from campaigns.audiences import services
from campaigns.audiences.models import Subscription

from .factories import MailingListFactory, SubscriberFactory

pytestmark = pytest.mark.django_db
BROWSER = {"en": "en-GB,en;q=0.9", "zh-hans": "zh-CN,zh;q=0.9"}


def _subscribed(language: str, status=Subscription.Status.SUBSCRIBED):
    subscriber = SubscriberFactory(language=language)
    mailing_list = MailingListFactory(name="News", is_public=True)
    subscription = Subscription.objects.create(
        subscriber=subscriber,
        mailing_list=mailing_list,
        status=status,
        consent_at=timezone.now(),
        consent_method=Subscription.Method.FORM,
    )
    return subscriber, mailing_list, subscription


def _lang(response) -> str:
    return re.search(r'<html lang="([^"]+)"', response.content.decode()).group(1)


@pytest.mark.parametrize(
    ("subscriber_language", "browser", "says", "not_says"),
    [("zh-hans", "en", "退订", "Unsubscribe"), ("en", "zh-hans", "Unsubscribe", "退订")],
)
def test_unsubscribe_and_preferences_speak_the_subscribers_language(
    client, subscriber_language, browser, says, not_says
):
    subscriber, mailing_list, _sub = _subscribed(subscriber_language)
    token = services.subscriber_token(subscriber.pk, mailing_list.pk)
    for name in ("audiences:unsubscribe", "audiences:preferences"):
        response = client.get(reverse(name, args=[token]), HTTP_ACCEPT_LANGUAGE=BROWSER[browser])
        assert response.status_code == 200
        assert _lang(response) == subscriber_language
        assert response["Content-Language"] == subscriber_language
        assert says in response.content.decode() and not_says not in response.content.decode()

    # The one-click POST's answer too; and it still unsubscribes.
    response = client.post(
        reverse("audiences:unsubscribe", args=[token]),
        {"List-Unsubscribe": "One-Click"},
        HTTP_ACCEPT_LANGUAGE=BROWSER[browser],
    )
    assert response.status_code == 200 and _lang(response) == subscriber_language
    assert Subscription.objects.get(subscriber=subscriber).status == "unsubscribed"


def test_preferences_page_answers_in_the_language_just_chosen(client):
    subscriber, mailing_list, _sub = _subscribed("en")
    url = reverse("audiences:preferences", args=[services.subscriber_token(subscriber.pk)])
    response = client.post(
        url,
        {"name": "Wang", "language": "zh-hans", "lists": [str(mailing_list.pk)]},
        HTTP_ACCEPT_LANGUAGE=BROWSER["en"],
    )
    assert response.status_code == 200 and _lang(response) == "zh-hans"
    subscriber.refresh_from_db()
    assert subscriber.language == "zh-hans"


def test_confirmation_page_speaks_the_subscribers_language(client):
    _subscriber, _list, subscription = _subscribed("zh-hans", Subscription.Status.PENDING)
    url = reverse("audiences:confirm", args=[services.confirmation_token(subscription)])
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=BROWSER["en"])
    assert _lang(response) == "zh-hans" and "确认您的订阅" in response.content.decode()
    response = client.post(url, HTTP_ACCEPT_LANGUAGE=BROWSER["en"])
    assert _lang(response) == "zh-hans"
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.SUBSCRIBED


def test_pages_that_name_nobody_follow_the_browser(client):
    response = client.get(
        reverse("audiences:unsubscribe", args=["not-a-token"]),
        HTTP_ACCEPT_LANGUAGE=BROWSER["zh-hans"],
    )
    assert response.status_code == 400
    assert _lang(response) == "zh-hans" and "链接无效" in response.content.decode()
    mailing_list = MailingListFactory(is_public=True)
    response = client.get(
        reverse("audiences:subscribe", args=[mailing_list.slug]),
        HTTP_ACCEPT_LANGUAGE=BROWSER["en"],
    )
    assert _lang(response) == "en"


def test_every_public_page_is_styled_by_its_stylesheet_without_inline_code(client):
    subscriber, mailing_list, subscription = _subscribed("en")
    token = services.subscriber_token(subscriber.pk, mailing_list.pk)
    urls = [
        reverse("audiences:subscribe", args=[mailing_list.slug]),
        reverse("audiences:confirm", args=[services.confirmation_token(subscription)]),
        reverse("audiences:unsubscribe", args=[token]),
        reverse("audiences:preferences", args=[token]),
        reverse("audiences:preferences", args=["broken"]),
    ]
    assert finders.find("audiences/public.css")
    for url in urls:
        html = client.get(url).content.decode()
        assert re.search(r'<link rel="stylesheet" href="[^"]*/audiences/public\.css"', html), url
        assert "<style" not in html and "<script" not in html, url
        assert 'class="public-card"' in html, url
