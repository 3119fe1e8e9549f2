"""Times that mean what they say, through HTTP: the team's default zone (a site setting),
the publication's zone as the zone its time is read in, the zone named beside every
time field, the common Chinese spellings of a date and time, and the links that open
the form at a time."""

import datetime

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from wagtail.users.models import UserProfile

from campaigns.models import Publication, TeamSettings
from tests.factories import ChannelAccountFactory, UserFactory

pytestmark = pytest.mark.django_db
S = Publication.Status
UTC = datetime.UTC


def url(name, *args):
    return reverse(f"campaigns_admin:{name}", args=args)


@pytest.fixture
def team_in_shanghai(db):
    team = TeamSettings.load()
    team.time_zone = "Asia/Shanghai"
    team.save()
    return team


@pytest.fixture
def marketer(db):
    user = UserFactory(username="mia", groups=["Marketers"])
    # The marketer's own admin zone is UTC: a publication's time must not follow it.
    profile = UserProfile.get_for_user(user)
    profile.current_time_zone = "UTC"
    profile.save()
    return user


@pytest.fixture
def hub(site):
    return ChannelAccountFactory(kind="blog/wagtail_site", name="Hub", rate_limit_per_minute=0)


def publication_data(post, hub, **overrides):
    data = {
        "page": post.pk,
        "channel_account": hub.pk,
        "timezone": "Asia/Shanghai",
        "publish_at": "2030-12-31 08:30",
        "schedule": "on",
        "repeat": "none",
        "ends": "never",
    }
    data.update(overrides)
    return data


def test_0830_in_the_team_zone_shanghai_is_due_at_0030_utc(
    client, team_in_shanghai, marketer, campaign, post, hub
):
    client.force_login(marketer)
    form_page = client.get(url("publication_create", campaign.pk)).content.decode()
    # A new publication starts in the team's zone, and the time field says so.
    assert '<option value="Asia/Shanghai" selected>' in form_page
    assert "In Asia/Shanghai." in form_page

    response = client.post(url("publication_create", campaign.pk), publication_data(post, hub))

    assert response.status_code == 302, response.content.decode()[:3000]
    pub = Publication.objects.get()
    assert pub.status == S.SCHEDULED
    assert pub.timezone == "Asia/Shanghai"
    assert pub.publish_at == datetime.datetime(2030, 12, 31, 0, 30, tzinfo=UTC)
    assert pub.due_at == datetime.datetime(2030, 12, 31, 0, 30, tzinfo=UTC)


def test_editing_shows_the_stored_instant_in_the_publications_zone(
    client, team_in_shanghai, marketer, campaign, post, hub
):
    client.force_login(marketer)
    client.post(url("publication_create", campaign.pk), publication_data(post, hub))
    pub = Publication.objects.get()

    page = client.get(url("publication_edit", pub.pk)).content.decode()

    # 00:30 UTC shown as the Shanghai wall clock it was typed as, not as the user's UTC.
    assert 'value="2030-12-31 08:30"' in page
    assert "In Asia/Shanghai." in page

    # Saving again unchanged keeps the same instant.
    response = client.post(url("publication_edit", pub.pk), publication_data(post, hub))
    assert response.status_code == 302
    pub.refresh_from_db()
    assert pub.publish_at == datetime.datetime(2030, 12, 31, 0, 30, tzinfo=UTC)


def test_another_zone_on_the_publication_reads_the_time_there(
    client, team_in_shanghai, marketer, campaign, post, hub
):
    client.force_login(marketer)
    data = publication_data(post, hub, timezone="Europe/Berlin")  # CET in December

    client.post(url("publication_create", campaign.pk), data)

    assert Publication.objects.get().publish_at == datetime.datetime(
        2030, 12, 31, 7, 30, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("2030/12/31 08:30", datetime.datetime(2030, 12, 31, 0, 30, tzinfo=UTC)),
        ("2030-12-31 08:30", datetime.datetime(2030, 12, 31, 0, 30, tzinfo=UTC)),
        ("2030年12月31日 08:30", datetime.datetime(2030, 12, 31, 0, 30, tzinfo=UTC)),
        ("2030年12月31日08:30", datetime.datetime(2030, 12, 31, 0, 30, tzinfo=UTC)),
        ("２０３０/１２/３１ ０８：３０", datetime.datetime(2030, 12, 31, 0, 30, tzinfo=UTC)),
        ("2030-12-31T08:30", datetime.datetime(2030, 12, 31, 0, 30, tzinfo=UTC)),
        # A date alone is midnight there: 16:00 UTC the day before.
        ("2030/12/31", datetime.datetime(2030, 12, 30, 16, 0, tzinfo=UTC)),
    ],
)
def test_common_chinese_spellings_are_accepted(
    client, team_in_shanghai, marketer, campaign, post, hub, typed, expected
):
    client.force_login(marketer)

    response = client.post(
        url("publication_create", campaign.pk), publication_data(post, hub, publish_at=typed)
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    assert Publication.objects.get().publish_at == expected


@pytest.mark.parametrize("typed", ["31.12.2030 08:30", "2030/13/45 08:30", "next monday"])
def test_an_unreadable_time_names_the_expected_format(
    client, team_in_shanghai, marketer, campaign, post, hub, typed
):
    client.force_login(marketer)

    response = client.post(
        url("publication_create", campaign.pk), publication_data(post, hub, publish_at=typed)
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert "Enter a date and time like 2026-12-31 08:30" in body
    assert not Publication.objects.exists()


def test_campaign_dates_accept_slashes_and_chinese_and_name_their_zone(client, marketer):
    client.force_login(marketer)
    page = client.get(url("create")).content.decode()
    assert "In UTC." in page  # the marketer's zone: where the scheduler reads the days

    response = client.post(
        url("create"),
        {
            "name": "Spring", "slug": "spring", "start_date": "2030/3/1",
            "end_date": "2030年4月30日", "owner": marketer.pk,
        },
    )  # fmt: skip

    assert response.status_code == 302, response.content.decode()[:3000]
    detail = client.get(response["Location"]).content.decode()
    assert "2030" in detail
    from campaigns.models import Campaign

    campaign = Campaign.objects.get(slug="spring")
    assert (campaign.start_date, campaign.end_date) == (
        datetime.date(2030, 3, 1),
        datetime.date(2030, 4, 30),
    )

    bad = client.post(
        url("create"),
        {"name": "X", "slug": "x", "start_date": "1/3/2030", "end_date": "2030-04-30",
         "owner": marketer.pk},
    )  # fmt: skip
    assert "Enter a date like 2026-12-31" in bad.content.decode()


def test_bulk_reschedule_reads_slashes_in_the_users_zone(client, marketer, make_pub, campaign):
    a = make_pub(3600)
    profile = UserProfile.get_for_user(marketer)
    profile.current_time_zone = "Asia/Shanghai"
    profile.save()
    client.force_login(marketer)
    assert "In Asia/Shanghai." in client.get(url("detail", campaign.pk)).content.decode()

    client.post(
        url("bulk_reschedule", campaign.pk),
        {"publications": [a.pk], "publish_at": "2030/12/31 08:30"},
    )

    a.refresh_from_db()
    assert a.publish_at == datetime.datetime(2030, 12, 31, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "query, shown",
    [("publish_at=2030-12-31T08:30", "2030-12-31 08:30"), ("date=2030-12-31", "2030-12-31 09:00")],
)
def test_a_link_can_open_the_form_at_a_time_in_the_team_zone(
    client, team_in_shanghai, marketer, campaign, query, shown
):
    client.force_login(marketer)

    page = client.get(url("publication_create", campaign.pk) + "?" + query).content.decode()

    assert f'value="{shown}"' in page
    assert '<option value="Asia/Shanghai" selected>' in page


def test_a_broken_time_link_opens_an_empty_form(client, marketer, campaign):
    client.force_login(marketer)

    response = client.get(url("publication_create", campaign.pk) + "?publish_at=tomorrow")

    assert response.status_code == 200
    assert 'name="publish_at" value=' not in response.content.decode()


def test_new_users_start_in_the_team_zone(team_in_shanghai):
    user = UserFactory(username="newcomer")

    assert UserProfile.get_for_user(user).current_time_zone == "Asia/Shanghai"


def test_team_settings_default_to_the_server_zone_and_refuse_unknown_zones(settings, client):
    settings.TIME_ZONE = "Europe/Paris"
    assert TeamSettings.load().time_zone == "Europe/Paris"
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    client.force_login(admin)
    # The generic setting's URL redirects to the one of its single row.
    edit = client.get(reverse("wagtailsettings:edit", args=["campaigns", "teamsettings"]))[
        "Location"
    ]

    bad = client.post(edit, {"time_zone": "Mars/Olympus"})
    assert bad.status_code == 200
    assert "is not a known time zone" in bad.content.decode()
    assert TeamSettings.load().time_zone == "Europe/Paris"

    client.post(edit, {"time_zone": "Asia/Shanghai"})
    assert TeamSettings.load().time_zone == "Asia/Shanghai"


def test_marketers_reach_team_settings_from_the_settings_menu(client, marketer):
    client.force_login(marketer)
    edit = reverse("wagtailsettings:edit", args=["campaigns", "teamsettings"])

    home = client.get(reverse("wagtailadmin_home")).content.decode()

    assert edit in home  # the sidebar's Settings menu links to it
    assert "Team settings" in home
    assert client.get(edit, follow=True).status_code == 200


def test_leadership_cannot_change_team_settings(client):
    leader = UserFactory(username="lee", groups=["Leadership"])
    assert Group.objects.filter(name="Leadership").exists()
    client.force_login(leader)
    edit = reverse("wagtailsettings:edit", args=["campaigns", "teamsettings"])

    assert client.post(edit, {"time_zone": "UTC"}).status_code in (302, 403)
    assert edit not in client.get(reverse("wagtailadmin_home")).content.decode()
