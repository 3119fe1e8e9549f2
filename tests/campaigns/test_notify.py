"""People are told (issue 16, point 6): approvers when a campaign is submitted, the
owner when it is approved or sent back and when a publication fails, each in their own
admin language, by notice and email, with a link to where they act."""

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core import mail
from django.urls import reverse
from wagtail.users.models import UserProfile

from campaigns import services
from campaigns.models import Campaign, Notification
from tests.factories import CampaignFactory, UserFactory

pytestmark = pytest.mark.django_db


def grant(user, *codenames):
    for code in codenames:
        app_label, codename = code.split(".")
        user.user_permissions.add(
            Permission.objects.get(codename=codename, content_type__app_label=app_label)
        )
    return user


def speaks(user, language):
    UserProfile.objects.update_or_create(user=user, defaults={"preferred_language": language})
    return user


def make_approver(username, language=""):
    user = UserFactory(username=username)
    grant(
        user, "wagtailadmin.access_admin", "campaigns.approve_campaign", "campaigns.view_campaign"
    )
    return speaks(user, language) if language else user


@pytest.fixture
def draft():
    owner = UserFactory(username="mia", groups=["Marketers"])
    return CampaignFactory(name="Spring", owner=owner)


def test_submitting_tells_each_approver_in_their_language(
    draft, django_capture_on_commit_callbacks
):
    make_approver("wang", "zh-hans")
    make_approver("ann", "en")
    sleeper = make_approver("sleeper")
    sleeper.is_active = False
    sleeper.save()
    UserFactory(username="bystander", groups=["Marketers"])  # may not approve

    with django_capture_on_commit_callbacks(execute=True):
        services.submit_campaign_for_approval(draft, draft.owner)

    notes = {n.user.username: n for n in Notification.objects.select_related("user")}
    assert set(notes) == {"wang", "ann"}
    # "Awaiting approval" is the campaign status label, translated in the catalogue.
    assert notes["wang"].message.startswith("待审批")
    assert notes["ann"].message == (
        "Awaiting approval: campaign “Spring”, submitted by mia. "
        "Open it to approve it or send it back."
    )
    assert all(n.campaign == draft for n in notes.values())

    by_address = {m.to[0]: m for m in mail.outbox}
    assert sorted(by_address) == ["ann@example.com", "wang@example.com"]
    chinese, english = by_address["wang@example.com"], by_address["ann@example.com"]
    assert chinese.extra_headers["Content-Language"] == "zh-hans"
    assert english.extra_headers["Content-Language"] == "en"
    assert chinese.body.startswith(notes["wang"].message)
    link = settings.WAGTAILADMIN_BASE_URL + reverse("campaigns_admin:detail", args=[draft.pk])
    assert english.body.endswith(f"Open: {link}") and link in chinese.body


def test_the_submitter_is_not_asked_to_approve_their_own_campaign(draft):
    grant(draft.owner, "campaigns.approve_campaign")
    other = make_approver("ann")
    services.submit_campaign_for_approval(draft, draft.owner)
    assert list(Notification.objects.values_list("user", flat=True)) == [other.pk]


def test_the_emails_wait_for_the_commit(draft, django_capture_on_commit_callbacks):
    make_approver("ann")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.submit_campaign_for_approval(draft, draft.owner)
    assert mail.outbox == []  # the emails wait for the commit
    assert len(callbacks) == 1


def test_approval_tells_the_owner(draft, django_capture_on_commit_callbacks):
    ann = make_approver("ann")
    services.submit_campaign_for_approval(draft, draft.owner)
    with django_capture_on_commit_callbacks(execute=True):
        services.approve_campaign(draft, ann)
    note = Notification.objects.get(user=draft.owner)
    assert note.message == (
        "Campaign “Spring” was approved by ann; its publications go out as scheduled."
    )
    assert [m.to for m in mail.outbox] == [[draft.owner.email]]


def test_rejection_tells_the_owner_in_their_language(draft):
    speaks(draft.owner, "zh-hans")
    ann = make_approver("ann", "en")
    services.submit_campaign_for_approval(draft, draft.owner)
    services.reject_campaign(draft, ann, "目标不清楚")
    note = Notification.objects.get(user=draft.owner)
    assert note.message == "营销活动“Spring”已被退回：目标不清楚"
    assert note.level == Notification.Level.WARNING


def test_failed_publication_tells_the_owner_in_their_language_with_its_link(
    make_pub, fake_account, django_capture_on_commit_callbacks
):
    pub = make_pub(-1)
    speaks(pub.campaign.owner, "zh-hans")
    fake_account.settings = {"mode": "permanent"}
    fake_account.save()
    services.claim_due_publications(enqueue=lambda ids: None)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.publish_publication(pub.pk) == "failed"
    note = Notification.objects.get(user=pub.campaign.owner, publication=pub)
    assert note.message.startswith("发布“") and "失败" in note.message
    assert note.level == Notification.Level.ERROR
    (email,) = [m for m in mail.outbox if m.to == [pub.campaign.owner.email]]
    assert reverse("campaigns_admin:publication_edit", args=[pub.pk]) in email.body


def test_http_submit_then_the_approver_sees_it_on_home_and_in_notifications(draft, client):
    ann = make_approver("ann")
    client.force_login(draft.owner)
    response = client.post(reverse("campaigns_admin:action", args=[draft.pk, "submit"]))
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == Campaign.Status.AWAITING_APPROVAL

    client.force_login(ann)
    home = client.get(reverse("wagtailadmin_home")).content.decode()
    detail = reverse("campaigns_admin:detail", args=[draft.pk])
    assert 'id="campaign-notifications' in home and "Awaiting approval: campaign" in home
    assert 'id="campaigns-awaiting-approval' in home and f'href="{detail}"' in home
    listing = client.get(reverse("campaigns_admin:notifications")).content.decode()
    assert "Awaiting approval: campaign “Spring”" in listing and f'href="{detail}"' in listing
