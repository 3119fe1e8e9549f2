"""The Wagtail admin screens, through HTTP: permissions, forms, preview, calendar,
actions, notifications."""

import datetime

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from campaigns import services
from campaigns.models import Campaign, Notification, Publication
from tests.factories import ChannelAccountFactory, PublicationFactory, UserFactory

pytestmark = pytest.mark.django_db
S = Publication.Status


@pytest.fixture
def marketer(db):
    return UserFactory(username="mia", groups=["Marketers"])


@pytest.fixture
def leader(db):
    return UserFactory(username="lee", groups=["Leadership"])


@pytest.fixture
def hub(site):
    return ChannelAccountFactory(kind="blog/wagtail_site", name="Hub", rate_limit_per_minute=0)


def url(name, *args):
    return reverse(f"campaigns_admin:{name}", args=args)


def test_anonymous_is_sent_to_login(client):
    response = client.get(url("index"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_marketer_creates_campaign_and_bad_dates_are_refused(client, marketer):
    client.force_login(marketer)
    data = {
        "name": "Spring", "slug": "spring-2026", "goal": "", "description": "",
        "start_date": "2026-05-02", "end_date": "2026-05-01", "owner": marketer.pk,
        "target_keyphrases": "spring sale",
    }  # fmt: skip
    response = client.post(url("create"), data)
    assert response.status_code == 200
    assert "end date must not be before the start date" in response.content.decode()
    assert not Campaign.objects.exists()
    data["end_date"] = "2026-06-01"
    response = client.post(url("create"), data)
    campaign = Campaign.objects.get(slug="spring-2026")
    assert response.status_code == 302 and campaign.status == Campaign.Status.DRAFT


def test_marketer_cannot_approve_but_approver_can(client, marketer, approver):
    campaign = Campaign.objects.create(
        name="C", slug="c", start_date=datetime.date(2026, 1, 1),
        end_date=datetime.date(2099, 1, 1), owner=marketer, status=Campaign.Status.AWAITING_APPROVAL,
    )  # fmt: skip
    client.force_login(marketer)
    response = client.post(url("action", campaign.pk, "approve"))
    assert response.status_code in (302, 403)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.AWAITING_APPROVAL
    approver.groups.add(Group.objects.get(name="Marketers"))
    client.force_login(approver)
    client.post(url("action", campaign.pk, "approve"))
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.APPROVED and campaign.approved_by == approver


def test_leadership_can_view_but_not_change(client, leader, campaign):
    client.force_login(leader)
    assert client.get(url("index")).status_code == 200
    assert client.get(url("detail", campaign.pk)).status_code == 200
    assert client.get(url("calendar")).status_code == 200
    assert client.get(url("create")).status_code in (302, 403)
    response = client.post(url("action", campaign.pk, "pause"))
    assert response.status_code in (302, 403)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.APPROVED


def test_create_publication_schedules_in_user_time_zone_with_preview(
    client, marketer, campaign, post, hub
):
    from wagtail.users.models import UserProfile

    profile = UserProfile.get_for_user(marketer)
    profile.current_time_zone = "Asia/Shanghai"
    profile.save()
    client.force_login(marketer)
    when = (timezone.now() + datetime.timedelta(days=2)).astimezone(
        datetime.timezone(datetime.timedelta(hours=8))
    )
    data = {
        "page": post.pk, "channel_account": hub.pk, "publish_at": when.strftime("%Y-%m-%d %H:%M"),
        "timezone": "Asia/Shanghai", "recurrence": "", "title_override": "<b>Bold</b> & co",
        "schedule": "on",
    }  # fmt: skip
    response = client.post(url("publication_create", campaign.pk), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    pub = Publication.objects.get()
    assert pub.status == S.SCHEDULED
    assert pub.publish_at == when.replace(second=0, microsecond=0)  # entered as Shanghai time
    page = client.get(url("publication_edit", pub.pk)).content.decode()
    assert "Preview on Hub" in page
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; co" in page  # escaped, never raw
    assert "Plan your spring sale early" in page  # the adapter's own render


def test_scheduling_refusal_keeps_input_and_saves_nothing(client, marketer, campaign, blog, hub):
    from tests.factories import make_post

    draft = make_post(blog, publish=False, title="Unapproved", slug="unapproved")
    client.force_login(marketer)
    past = (timezone.localtime() - datetime.timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
    data = {
        "page": draft.pk,
        "channel_account": hub.pk,
        "publish_at": past,
        "timezone": "UTC",
        "schedule": "on",
        "title_override": "Keep me",
    }
    response = client.post(url("publication_create", campaign.pk), data)
    body = response.content.decode()
    assert response.status_code == 200
    assert "is in the past" in body and "is not approved" in body
    assert "Keep me" in body
    assert not Publication.objects.exists()


def test_publication_actions_and_attempt_log(client, marketer, make_pub, fake_channel):
    pub = make_pub(3600)
    client.force_login(marketer)
    client.post(url("publication_action", pub.pk, "pause"))
    pub.refresh_from_db()
    assert pub.status == S.PAUSED
    client.post(url("publication_action", pub.pk, "resume"))
    pub.refresh_from_db()
    assert pub.status == S.SCHEDULED
    response = client.post(url("publication_action", pub.pk, "cancel"), follow=True)
    pub.refresh_from_db()
    assert pub.status == S.CANCELLED
    response = client.post(url("publication_action", pub.pk, "resume"), follow=True)
    assert "Only a paused publication can be resumed" in response.content.decode()
    log = client.get(url("publication_log", pub.pk)).content.decode()
    assert log.count("mia") >= 3  # who did each change


def test_bulk_reschedule_view(client, marketer, make_pub, campaign):
    a, b = make_pub(3600), make_pub(7200)
    client.force_login(marketer)
    client.post(
        url("bulk_reschedule", campaign.pk), {"publications": [a.pk, b.pk], "shift_hours": "24"}
    )
    a2, b2 = Publication.objects.get(pk=a.pk), Publication.objects.get(pk=b.pk)
    assert a2.publish_at - a.publish_at == datetime.timedelta(hours=24)
    assert b2.publish_at - b.publish_at == datetime.timedelta(hours=24)


def test_calendar_month_week_and_filters(client, marketer, make_pub, campaign, fake_account, hub):
    pub = make_pub(3600, title_override="Fake channel post")
    client.force_login(marketer)
    # The publication's own day: an hour from now may be next week or next month.
    day = timezone.localtime(pub.publish_at).date().isoformat()
    for view in ("month", "week"):
        body = client.get(url("calendar"), {"view": view, "date": day}).content.decode()
        assert "Fake channel post" in body
    body = client.get(url("calendar"), {"channel": "blog"}).content.decode()
    assert "Fake channel post" not in body
    body = client.get(
        url("calendar"), {"campaign": campaign.pk, "channel": "test", "date": day}
    ).content.decode()
    assert "Fake channel post" in body
    next_year = (timezone.localdate() + datetime.timedelta(days=400)).isoformat()
    assert (
        "Fake channel post" not in client.get(url("calendar"), {"date": next_year}).content.decode()
    )
    assert pub.pk


def test_failure_visible_on_campaign_page_and_owner_notified(
    client, make_pub, fake_account, campaign, monkeypatch
):
    from django.db import transaction

    monkeypatch.setattr(transaction, "on_commit", lambda fn, using=None, robust=False: fn())
    fake_account.settings = {"mode": "permanent"}
    fake_account.save()
    pub = make_pub(-1)
    services.claim_due_publications(enqueue=lambda ids: None)
    services.publish_publication(pub.pk)
    owner = campaign.owner
    owner.groups.add(Group.objects.get(name="Marketers"))
    client.force_login(owner)
    body = client.get(url("detail", campaign.pk)).content.decode()
    assert "Failures and unknown outcomes" in body and "bad credentials" in body
    # The notice shows once as an admin message, then stays listed until read.
    first = client.get(reverse("wagtailadmin_home"))
    second = client.get(url("index")).content.decode()
    assert "bad credentials" in first.content.decode() + second
    # (The owner also has the notice of the campaign's approval, from the fixture.)
    assert Notification.objects.get(user=owner, publication=pub).shown_at is not None
    assert "bad credentials" in client.get(url("notifications")).content.decode()
    client.post(url("notifications"))
    assert Notification.objects.get(user=owner, publication=pub).read_at is not None


def test_naughty_strings_round_trip_escaped(client, marketer, campaign, post, hub, naughty_strings):
    strings = naughty_strings
    client.force_login(marketer)
    pub = PublicationFactory(campaign=campaign, page=post, channel_account=hub)
    for text in strings[::25]:
        text = text.replace("\x00", "")[:300]
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            continue  # lone surrogates cannot be sent by a browser at all
        data = {
            "page": post.pk,
            "channel_account": hub.pk,
            "timezone": "UTC",
            "title_override": text,
            "tags": text[:500],
        }
        response = client.post(url("publication_edit", pub.pk), data)
        assert response.status_code in (200, 302)
        pub.refresh_from_db()
        assert pub.title_override == text.strip()
        body = client.get(url("detail", campaign.pk)).content.decode()
        assert "<script>alert" not in body


def test_marketer_edits_a_campaign_without_touching_its_status(client, marketer, campaign):
    client.force_login(marketer)
    data = {
        "name": "Renamed", "slug": campaign.slug, "goal": "Sign-ups", "description": "",
        "start_date": campaign.start_date.isoformat(), "end_date": campaign.end_date.isoformat(),
        "owner": campaign.owner.pk, "target_keyphrases": "",
    }  # fmt: skip
    response = client.post(url("edit", campaign.pk), data)
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert (campaign.name, campaign.goal) == ("Renamed", "Sign-ups")
    assert campaign.status == Campaign.Status.APPROVED
    data["end_date"] = "2000-01-01"
    response = client.post(url("edit", campaign.pk), data)
    assert response.status_code == 200
    assert "end date must not be before the start date" in response.content.decode()
    services.cancel_campaign(campaign)
    data["end_date"], data["name"] = campaign.end_date.isoformat(), "Closed edit"
    response = client.post(url("edit", campaign.pk), data, follow=True)
    assert "A closed campaign cannot be edited." in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.name == "Renamed"


def test_unticking_schedule_unschedules_and_logs_the_editor(client, marketer, make_pub, post):
    pub = make_pub(3600, title_override="Going back to draft")
    client.force_login(marketer)
    data = {
        "page": post.pk, "channel_account": pub.channel_account_id, "timezone": "UTC",
        "title_override": "Going back to draft",
    }  # fmt: skip
    response = client.post(url("publication_edit", pub.pk), data)
    assert response.status_code == 302
    pub.refresh_from_db()
    assert pub.status == S.DRAFT and pub.due_at is None
    event = pub.events.last()
    assert (event.from_status, event.to_status, event.actor, event.reason) == (
        S.SCHEDULED, S.DRAFT, marketer, "Unscheduled.",
    )  # fmt: skip


def test_action_messages_follow_the_readers_language(client, campaign):
    """The action table is built at import; its messages must still be read per request,
    in the reader's language (a Chinese approver saw "Campaign sent back to draft.")."""
    from django.contrib.auth.models import Permission
    from wagtail.users.models import UserProfile

    approver = UserFactory(username="li", groups=["Marketers"])
    approver.user_permissions.add(Permission.objects.get(codename="approve_campaign"))
    profile = UserProfile.get_for_user(approver)
    profile.preferred_language = "zh-hans"
    profile.save()
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.AWAITING_APPROVAL)
    client.force_login(approver)

    response = client.post(
        reverse("campaigns_admin:action", args=[campaign.pk, "reject"]), follow=True
    )

    texts = [str(m) for m in response.context["messages"]]
    assert texts and not any("Campaign" in t for t in texts), texts


def test_the_schedule_summary_names_statuses_in_the_readers_words(client, campaign, post, hub):
    from wagtail.users.models import UserProfile

    PublicationFactory(campaign=campaign, page=post, channel_account=hub)  # a draft
    marketer = UserFactory(username="wang", groups=["Marketers"])
    profile = UserProfile.get_for_user(marketer)
    profile.preferred_language = "zh-hans"
    profile.save()
    client.force_login(marketer)

    html = client.get(reverse("campaigns_admin:detail", args=[campaign.pk])).content.decode()

    assert "草稿 1 篇" in html  # one translatable count phrase: the status, then the count
    assert "1 draft" not in html
