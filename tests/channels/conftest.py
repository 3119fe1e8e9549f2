import pytest
from django.contrib.auth.models import Group

from tests.factories import (
    CampaignFactory,
    ChannelAccountFactory,
    PublicationFactory,
    UserFactory,
    make_blog,
    make_post,
    make_soft_article,
)

from .faultproxy import FaultProxy
from .loopback import LoopbackServer


@pytest.fixture
def loopback():
    """Start a loopback server for a fake service: `with loopback(FakeX()) as server`."""
    servers = []

    def start(service):
        server = LoopbackServer(service)
        server.__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__(None, None, None)


@pytest.fixture
def fault_proxy():
    """Put a fault-injecting proxy in front of a loopback server: `fault_proxy(server)`;
    point the adapter at `proxy.url`."""
    proxies = []

    def start(server, **kwargs):
        proxy = FaultProxy(server.url, **kwargs).start()
        proxies.append(proxy)
        return proxy

    yield start
    for proxy in proxies:
        proxy.stop()


@pytest.fixture
def blog(home_page):
    return make_blog(home_page)


@pytest.fixture
def marketer(db):
    # The group and its permissions come from the roles sync that runs after migrate.
    Group.objects.get_or_create(name="Marketers")
    return UserFactory(username="marketer", email="marketer@example.com", groups=["Marketers"])


@pytest.fixture
def make_publication(blog, marketer):
    """make_publication(kind, settings=..., secrets=..., page=..., **publication fields)"""

    def make(kind, *, settings=None, secrets=None, page=None, internal=True, soft=False, **fields):
        account = ChannelAccountFactory(
            kind=kind, settings=settings or {}, secrets=secrets or {}, is_internal=internal
        )
        if page is None:
            page = make_soft_article(blog) if soft else make_post(blog)
        campaign = fields.pop("campaign", None) or CampaignFactory(owner=marketer)
        return PublicationFactory(
            channel_account=account, page=page, campaign=campaign, created_by=marketer, **fields
        )

    return make
