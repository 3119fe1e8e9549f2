import uuid

import pytest

from analytics.link_cache import LINK_CACHE
from analytics.links import tracked_url
from analytics.models import TrackedLink
from analytics.pusher import CONFIRMER
from analytics.visitors import daily_salt_cache_clear
from tests.factories import (
    ChannelAccountFactory,
    PublicationFactory,
    make_blog,
    make_email_issue,
    make_post,
)

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"


@pytest.fixture(autouse=True)
def analytics_isolation(settings):
    """Own Redis key prefix per test, no Redis unless a test asks, fresh caches.

    Changing the queue settings also gives the test thread new event pushers
    (analytics.pusher makes them from the settings), so no test inherits a batch or a
    connection from another."""
    settings.ANALYTICS_QUEUE_KEY = f"test-analytics:{uuid.uuid4().hex}"
    settings.REDIS_URL = ""
    settings.SITE_BASE_URL = "https://hub.example.com"
    LINK_CACHE.clear()
    daily_salt_cache_clear()
    yield
    LINK_CACHE.clear()


@pytest.fixture
def use_redis(settings, redis_client):
    """The event queue on the real Redis. Pushes are batched as in production, but the
    confirmer thread is held (CONFIRMER.hold(): no batch wakes it): a test confirms
    with flush_pushes(), or lets it back in (CONFIRMER.release()) to test it."""
    url = redis_client.connection_pool.connection_kwargs
    settings.REDIS_URL = "redis://{host}:{port}/{db}".format(
        host=url.get("host", "127.0.0.1"), port=url.get("port", 6379), db=url.get("db", 0)
    )
    CONFIRMER.hold()
    yield redis_client
    CONFIRMER.release()
    for key in redis_client.scan_iter(f"{settings.ANALYTICS_QUEUE_KEY}*"):
        redis_client.delete(key)


@pytest.fixture
def post(home_page):
    return make_post(make_blog(home_page))


@pytest.fixture
def blog_publication(post):
    return PublicationFactory(page=post, campaign__slug="spring-sale")


@pytest.fixture
def email_publication(home_page):
    issue = make_email_issue(home_page)
    account = ChannelAccountFactory(kind="email/smtp")
    return PublicationFactory(page=issue, channel_account=account, campaign__slug="newsletter")


@pytest.fixture
def email_links(email_publication):
    for url in ("https://a.example.com/", "https://b.example.com/", "https://c.example.com/"):
        tracked_url(url, publication=email_publication)
    return list(TrackedLink.objects.order_by("pk"))


@pytest.fixture
def links(blog_publication):
    for i in range(3):
        tracked_url(f"https://shop.example.com/p/{i}", publication=blog_publication)
    return list(TrackedLink.objects.order_by("pk"))


def click(client, link, token="", ua=FIREFOX, ip="10.0.0.1"):
    query = f"?m={token}" if token else ""
    return client.get(f"/t/{link.code}{query}", HTTP_USER_AGENT=ua, REMOTE_ADDR=ip)
