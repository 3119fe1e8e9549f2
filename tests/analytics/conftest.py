import threading
import uuid

import pytest

from analytics import services
from tests.factories import (
    ChannelAccountFactory,
    PublicationFactory,
    make_blog,
    make_email_issue,
    make_post,
)


@pytest.fixture(autouse=True)
def analytics_isolation(settings):
    """Own Redis key prefix per test, no Redis unless a test asks, fresh caches."""
    settings.ANALYTICS_QUEUE_KEY = f"test-analytics:{uuid.uuid4().hex}"
    settings.REDIS_URL = ""
    settings.SITE_BASE_URL = "https://hub.example.com"
    services._LINK_CACHE.clear()
    services._SALTS.clear()
    yield
    services._LINK_CACHE.clear()


@pytest.fixture
def use_redis(settings, redis_client, monkeypatch):
    """The event queue on the real Redis. Pushes are batched as in production, but the
    confirmer thread is kept away (no batch wakes it): a test confirms with
    services.flush_pushes(), or lets it back in (let_the_confirmer_in) to test it."""
    url = redis_client.connection_pool.connection_kwargs
    settings.REDIS_URL = "redis://{host}:{port}/{db}".format(
        host=url.get("host", "127.0.0.1"), port=url.get("port", 6379), db=url.get("db", 0)
    )
    monkeypatch.setattr(services._CONFIRMER, "batch_started", lambda due_at: None)
    new_pushers(monkeypatch)
    yield redis_client
    for key in redis_client.scan_iter(f"{settings.ANALYTICS_QUEUE_KEY}*"):
        redis_client.delete(key)


def let_the_confirmer_in(monkeypatch):
    """Undo use_redis's hold on the confirmer thread: batches wake it again."""
    monkeypatch.delattr(services._CONFIRMER, "batch_started")


def new_pushers(monkeypatch):
    """Forget this thread's pushers, so the next push builds one from the settings."""
    monkeypatch.setattr(services, "_PUSHERS", threading.local())


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
