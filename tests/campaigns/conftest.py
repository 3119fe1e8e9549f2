import datetime
import uuid

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.utils import timezone

from campaigns import services
from campaigns.models import Campaign, Publication
from channels import registry
from tests.campaigns import fakes
from tests.factories import (
    CampaignFactory,
    ChannelAccountFactory,
    PublicationFactory,
    UserFactory,
    make_blog,
    make_post,
)


@pytest.fixture(params=["fast", "plain"])
def import_path(request, monkeypatch):
    """A test that takes it runs on the import's plain path, and on PostgreSQL on its
    fast path (COPY and set-based SQL) too; returns "fast" or "plain"."""
    from campaigns.audiences import import_apply

    if request.param == "fast" and connection.vendor != "postgresql":
        pytest.skip("the fast path is PostgreSQL's")
    if request.param == "plain":
        monkeypatch.setattr(import_apply, "fast_path", lambda: False)
    return request.param


@pytest.fixture
def fake_channel(monkeypatch):
    """Register the fake channel kind for this test only; in-memory post store."""
    monkeypatch.setitem(
        registry.ADAPTERS, "test/fake", ("tests.campaigns.fakes.FakeAdapter", "Fake")
    )
    monkeypatch.setattr(fakes, "STORE", fakes.MemoryStore())
    monkeypatch.setattr(fakes, "DURING_PUBLISH", None)
    return fakes


@pytest.fixture
def redis_store(fake_channel, redis_client, monkeypatch):
    """Fake channel posts counted in real Redis, shared with child processes."""
    prefix = f"helperA:test:{uuid.uuid4().hex}:"
    monkeypatch.setattr(fakes, "STORE", fakes.RedisStore(redis_client, prefix))
    yield fakes.STORE
    for key in redis_client.scan_iter(prefix + "*"):
        redis_client.delete(key)


@pytest.fixture
def celery_eager(monkeypatch):
    """Tasks enqueued with .delay run in-process at once (Celery's own eager mode), so
    a test sees what a worker would do without a broker."""
    from config.celery import app

    monkeypatch.setattr(app.conf, "task_always_eager", True)
    monkeypatch.setattr(app.conf, "task_eager_propagates", True)


@pytest.fixture
def blog(home_page):
    return make_blog(home_page)


@pytest.fixture
def post(blog):
    return make_post(blog, title="Spring sale guide", slug="spring-sale")


@pytest.fixture
def approver(db):
    user = UserFactory(username="approver")
    user.user_permissions.add(
        Permission.objects.get(codename="approve_campaign", content_type__app_label="campaigns")
    )
    return user


@pytest.fixture
def campaign(approver):
    campaign = CampaignFactory(
        status=Campaign.Status.AWAITING_APPROVAL,
        start_date=datetime.date(2020, 1, 1),
        end_date=datetime.date(2099, 12, 31),
    )
    services.approve_campaign(campaign, approver)
    return campaign


@pytest.fixture
def fake_account(fake_channel):
    return ChannelAccountFactory(kind="test/fake", rate_limit_per_minute=0, settings={"mode": "ok"})


@pytest.fixture
def make_pub(campaign, post, fake_account):
    """A scheduled publication of `post` on the fake channel, due `in_seconds` from now
    (may be negative: written directly as already due, as the dispatcher would see it)."""

    def make(in_seconds=3600, account=None, camp=None, **kwargs):
        pub = PublicationFactory(
            campaign=camp or campaign, page=post, channel_account=account or fake_account, **kwargs
        )
        when = timezone.now() + datetime.timedelta(seconds=in_seconds)
        if in_seconds > 0:
            services.schedule_publication(pub, when)
        else:
            Publication.objects.filter(pk=pub.pk).update(
                status=Publication.Status.SCHEDULED, publish_at=when, due_at=when
            )
            pub.refresh_from_db()
        return pub

    return make
