"""Moderation that fits the campaign schedule, through Wagtail's own admin views: an
editor submits, a moderator approves; a page a campaign puts on this hub stays off the
hub until that slot but counts as approved, so other channels go out at their own
times; a page with no hub slot is approved and published as Wagtail does it."""

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone
from wagtail.models import Workflow
from wagtail.test.utils.form_data import nested_form_data, streamfield

from campaigns import services
from campaigns.models import Campaign, Publication
from content.approval import is_content_approved
from content.moderation import SlotApprovalTask
from tests.channels.fakes import FakeWordPress
from tests.channels.loopback import LoopbackServer
from tests.factories import (
    CampaignFactory,
    ChannelAccountFactory,
    PublicationFactory,
    UserFactory,
    make_blog,
    make_post,
)

pytestmark = pytest.mark.django_db
S = Publication.Status


@pytest.fixture
def blog(home_page):
    return make_blog(home_page)


@pytest.fixture
def editor(db):
    return UserFactory(username="ed", groups=["Editors"])


@pytest.fixture
def moderator(db):
    return UserFactory(username="mo", groups=["Moderators"])


@pytest.fixture
def campaign(db):
    approver = UserFactory(username="approver")
    approver.user_permissions.add(
        Permission.objects.get(codename="approve_campaign", content_type__app_label="campaigns")
    )
    campaign = CampaignFactory(
        status=Campaign.Status.AWAITING_APPROVAL,
        start_date=datetime.date(2020, 1, 1),
        end_date=datetime.date(2099, 12, 31),
    )
    services.approve_campaign(campaign, approver)
    return campaign


@pytest.fixture
def hub(site):
    return ChannelAccountFactory(kind="blog/wagtail_site", name="Our hub", rate_limit_per_minute=0)


@pytest.fixture
def wordpress():
    with LoopbackServer(FakeWordPress()) as server:
        yield server


@pytest.fixture
def wordpress_account(wordpress):
    return ChannelAccountFactory(
        kind="blog/wordpress",
        settings={"base_url": wordpress.url, "username": "editor"},
        secrets={"application_password": "abcd efgh ijkl mnop"},
        is_internal=True,
        rate_limit_per_minute=0,
    )


def submit(client, editor, page):
    """The editor's "Submit for moderation" on the page's edit form."""
    client.force_login(editor)
    data = nested_form_data(
        {
            "title": page.title,
            "slug": page.slug,
            "language": page.language,
            "author_name": "",
            "excerpt": page.excerpt,
            "body": streamfield([]),
            "focus_keyphrase": "",
            "seo_title": "",
            "search_description": "",
        }
    )
    data["action-submit"] = "Submit"
    response = client.post(reverse("wagtailadmin_pages:edit", args=[page.pk]), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    page.refresh_from_db()
    assert page.workflow_in_progress
    return page


def approve(client, moderator, page):
    """The moderator's approve action, as the action menu and the dashboard post it."""
    client.force_login(moderator)
    state = page.current_workflow_task_state
    url = reverse("wagtailadmin_pages:workflow_action", args=[page.pk, "approve", state.pk])
    response = client.post(url)
    assert response.status_code == 302
    page.refresh_from_db()
    return page


def at(when):
    """Claim whatever is due at `when` and publish it; returns the claimed ids."""
    claimed = services.claim_due_publications(now=when, enqueue=lambda ids: None)
    for pk in claimed:
        services.publish_publication(pk)
    return claimed


def test_the_default_workflow_approves_for_the_campaign_slot(blog):
    page = make_post(blog, publish=False, title="Any", slug="any")
    workflow = page.get_workflow()
    assert isinstance(workflow, Workflow)
    [task] = workflow.tasks.specific()
    assert isinstance(task, SlotApprovalTask)
    assert list(task.groups.values_list("name", flat=True)) == ["Moderators"]


def test_approved_for_the_hub_slot_it_waits_for_the_slot_while_wordpress_goes_out_at_its_own(
    client, blog, editor, moderator, campaign, hub, wordpress, wordpress_account
):
    now = timezone.now()
    page = make_post(blog, publish=False, title="Launch day", slug="launch-day")
    hub_slot = (now + datetime.timedelta(hours=2)).replace(microsecond=0)
    wp_slot = (now + datetime.timedelta(hours=1)).replace(microsecond=0)
    on_hub = PublicationFactory(
        campaign=campaign, page=page, channel_account=hub, publish_at=hub_slot
    )
    on_wp = PublicationFactory(
        campaign=campaign, page=page, channel_account=wordpress_account, publish_at=wp_slot
    )
    assert not is_content_approved(page)

    submit(client, editor, page)

    # The moderator's menu says what approving does, and never "and Publish".
    client.force_login(moderator)
    html = client.get(reverse("wagtailadmin_pages:edit", args=[page.pk])).content.decode()
    assert "Approve for its campaign slot" in html
    assert "and Publish" not in html

    approve(client, moderator, page)
    assert not page.live  # not on the hub before its slot
    assert is_content_approved(page)  # but approved, for every channel
    revision = page.get_latest_revision()
    assert revision.approved_go_live_at == hub_slot
    assert page.status_string == "scheduled"

    # Approved content can be scheduled on both channels now.
    services.schedule_publication(on_wp, wp_slot)
    services.schedule_publication(on_hub, hub_slot)

    assert at(wp_slot + datetime.timedelta(minutes=1)) == [on_wp.pk]
    on_wp.refresh_from_db()
    assert on_wp.status == S.PUBLISHED
    assert [post["title"] for post in wordpress.service.posts] == ["Launch day"]
    page.refresh_from_db()
    assert not page.live  # WordPress went out; the hub still waits

    assert at(hub_slot + datetime.timedelta(minutes=1)) == [on_hub.pk]
    on_hub.refresh_from_db()
    page.refresh_from_db()
    assert on_hub.status == S.PUBLISHED
    assert page.live and page.live_revision_id == revision.pk
    assert page.go_live_at is None
    assert client.get(on_hub.public_url).status_code == 200


def test_a_page_with_no_hub_slot_is_approved_and_published_at_once(
    client, blog, editor, moderator, campaign, wordpress_account
):
    page = make_post(blog, publish=False, title="Evergreen", slug="evergreen")
    PublicationFactory(campaign=campaign, page=page, channel_account=wordpress_account)
    submit(client, editor, page)

    client.force_login(moderator)
    html = client.get(reverse("wagtailadmin_pages:edit", args=[page.pk])).content.decode()
    assert "Approve and Publish" in html
    assert "Approve for its campaign slot" not in html

    approve(client, moderator, page)
    assert page.live
    assert page.get_latest_revision().approved_go_live_at is None


def test_a_past_or_cancelled_hub_slot_does_not_hold_the_page(
    client, blog, editor, moderator, campaign, hub
):
    page = make_post(blog, publish=False, title="Old news", slug="old-news")
    PublicationFactory(
        campaign=campaign,
        page=page,
        channel_account=hub,
        publish_at=timezone.now() + datetime.timedelta(hours=3),
        status=S.CANCELLED,
    )
    submit(client, editor, page)
    approve(client, moderator, page)
    assert page.live


def test_an_edit_of_live_content_approved_for_the_slot_keeps_the_old_version_live(
    client, blog, editor, moderator, campaign, hub
):
    page = make_post(blog, publish=True, title="Price list", slug="price-list")
    live_revision_id = page.live_revision_id
    slot = (timezone.now() + datetime.timedelta(hours=5)).replace(microsecond=0)
    PublicationFactory(campaign=campaign, page=page, channel_account=hub, publish_at=slot)
    page.title = "Price list 2027"
    submit(client, editor, page)

    approve(client, moderator, page)
    assert page.live and page.live_revision_id == live_revision_id
    assert page.get_latest_revision().approved_go_live_at == slot
    assert is_content_approved(page)


def test_the_moderators_dashboard_lists_the_slot_label(
    client, blog, editor, moderator, campaign, hub
):
    page = make_post(blog, publish=False, title="Dash", slug="dash")
    PublicationFactory(
        campaign=campaign,
        page=page,
        channel_account=hub,
        publish_at=timezone.now() + datetime.timedelta(days=2),
    )
    submit(client, editor, page)
    client.force_login(moderator)
    html = client.get(reverse("wagtailadmin_home")).content.decode()
    assert "Approve for its campaign slot" in html


def test_moving_the_hub_slot_moves_the_approved_go_live_with_it(
    client, blog, editor, moderator, campaign, hub, django_capture_on_commit_callbacks
):
    now = timezone.now()
    first = (now + datetime.timedelta(hours=2)).replace(microsecond=0)
    later = (now + datetime.timedelta(hours=4)).replace(microsecond=0)
    page = make_post(blog, publish=False, title="Moved", slug="moved")
    on_hub = PublicationFactory(campaign=campaign, page=page, channel_account=hub, publish_at=first)
    submit(client, editor, page)
    approve(client, moderator, page)
    services.schedule_publication(on_hub, first)

    with django_capture_on_commit_callbacks(execute=True):
        services.reschedule_publication(on_hub, later)

    page.refresh_from_db()
    revision = page.get_latest_revision()
    assert revision.approved_go_live_at == later
    assert revision.as_object().go_live_at == later
    assert page.go_live_at == later and not page.live
    assert is_content_approved(page)  # the same approval, at the new time
    on_hub.refresh_from_db()
    assert on_hub.status == S.SCHEDULED
