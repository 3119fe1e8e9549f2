"""The blog/wagtail_site channel: publishing a page of our own hub at the campaign's
time, through the real publish pipeline."""

import datetime

import pytest
from django.utils import timezone

from campaigns import services
from campaigns.models import Publication
from channels.base import PublishError
from channels.blog.wagtail_site import WagtailSiteAdapter
from content.approval import is_content_approved
from tests.factories import ChannelAccountFactory, PublicationFactory, make_post

pytestmark = pytest.mark.django_db
S = Publication.Status


@pytest.fixture
def hub_account(site):
    return ChannelAccountFactory(kind="blog/wagtail_site", name="Our hub", rate_limit_per_minute=0)


def approve_for_later(page, go_live_at):
    """What Wagtail's workflow does when a page with a future go-live is approved:
    the revision is approved (approved_go_live_at) but the page is not live yet."""
    page.go_live_at = go_live_at
    revision = page.save_revision()
    revision.publish()
    page.refresh_from_db()
    revision.refresh_from_db()
    return revision


def test_publishes_approved_revision_at_campaign_time(campaign, blog, hub_account):
    page = make_post(blog, publish=False, title="Launch day", slug="launch-day")
    revision = approve_for_later(page, timezone.now() + datetime.timedelta(days=30))
    assert not page.live and revision.approved_go_live_at is not None
    assert is_content_approved(page)

    pub = PublicationFactory(campaign=campaign, page=page, channel_account=hub_account)
    services.schedule_publication(pub, timezone.now() + datetime.timedelta(minutes=5))
    later = timezone.now() + datetime.timedelta(minutes=6)
    [pk] = services.claim_due_publications(now=later, enqueue=lambda ids: None)
    assert services.publish_publication(pk) == "published"

    page.refresh_from_db()
    pub.refresh_from_db()
    assert page.live and page.live_revision_id == revision.pk
    assert pub.status == S.PUBLISHED
    assert pub.public_url == page.get_full_url() and pub.public_url.endswith("/launch-day/")
    assert pub.external_id == str(revision.pk)


def test_find_existing_is_page_live_at_that_revision(campaign, blog, hub_account):
    page = make_post(blog, publish=False, title="Later", slug="later")
    approve_for_later(page, timezone.now() + datetime.timedelta(days=1))
    pub = PublicationFactory(campaign=campaign, page=page, channel_account=hub_account)
    adapter = WagtailSiteAdapter(hub_account)
    assert adapter.find_existing(pub) is None
    result = adapter.publish(pub, adapter.render(pub))
    found = adapter.find_existing(pub)
    assert found is not None and found.url == result.url
    # Publishing again is a no-op returning the same post (idempotent).
    assert adapter.publish(pub, adapter.render(pub)).external_id == result.external_id


def test_unknown_outcome_on_hub_does_not_publish_twice(campaign, post, hub_account):
    pub = PublicationFactory(campaign=campaign, page=post, channel_account=hub_account)
    services.schedule_publication(pub, timezone.now() + datetime.timedelta(minutes=1))
    Publication.objects.filter(pk=pub.pk).update(needs_lookup=True, status=S.UNKNOWN)
    later = timezone.now() + datetime.timedelta(minutes=2)
    [pk] = services.claim_due_publications(now=later, enqueue=lambda ids: None)
    revisions_before = post.revisions.count()
    assert services.publish_publication(pk) == "found"
    assert post.revisions.count() == revisions_before


def test_render_gives_title_excerpt_and_canonical_url(campaign, post, hub_account):
    pub = PublicationFactory(
        campaign=campaign, page=post, channel_account=hub_account, title_override="Override"
    )
    rendered = WagtailSiteAdapter(hub_account).render(pub)
    assert rendered.title == "Override"
    assert rendered.excerpt == "How to plan a spring sale."
    assert rendered.canonical_url.endswith("/spring-sale/")
    assert "Plan your spring sale early" in rendered.html


def test_unapproved_page_is_a_permanent_error(campaign, blog, hub_account):
    page = make_post(blog, publish=False, title="Nope", slug="nope")
    pub = PublicationFactory(campaign=campaign, page=page, channel_account=hub_account)
    with pytest.raises(PublishError) as info:
        WagtailSiteAdapter(hub_account).publish(pub, None)
    assert info.value.permanent and "no approved revision" in str(info.value)
