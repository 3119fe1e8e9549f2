"""The schedule calendar through HTTP: what it draws (today, channel colours, the week's
time grid, send panel links, "+" links), the drag-and-drop endpoint (same service and
checks as the publication form) and the campaign picker behind "+"."""

import datetime
import json
import zoneinfo

import pytest
from bs4 import BeautifulSoup
from django.urls import reverse
from django.utils import timezone
from wagtail.users.models import UserProfile

from campaigns.models import Campaign, Publication, PublicationEvent
from tests.factories import CampaignFactory, ChannelAccountFactory, PublicationFactory, UserFactory

pytestmark = pytest.mark.django_db
S = Publication.Status
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


@pytest.fixture
def marketer(db):
    user = UserFactory(username="mia", groups=["Marketers"])
    profile = UserProfile.get_for_user(user)
    profile.current_time_zone = "Asia/Shanghai"
    profile.save()
    return user


@pytest.fixture
def leader(db):
    return UserFactory(username="lee", groups=["Leadership"])


@pytest.fixture
def new_pub(post):
    """An unscheduled publication of `post` (the factory's defaults, status as given)."""

    def make(**kwargs):
        kwargs.setdefault("publish_at", tomorrow_at_ten())
        return PublicationFactory(page=post, **kwargs)

    return make


def url(name, *args):
    return reverse(f"campaigns_admin:{name}", args=args)


def shanghai_today():
    return timezone.now().astimezone(SHANGHAI).date()


def tomorrow_at_ten():
    """Tomorrow at 10:00 in the marketer's zone: in the future and on a known page."""
    return datetime.datetime.combine(
        shanghai_today() + datetime.timedelta(days=1), datetime.time(10), tzinfo=SHANGHAI
    )


def calendar_page(client, **params):
    response = client.get(url("calendar"), params)
    assert response.status_code == 200
    return BeautifulSoup(response.content, "html.parser")


def item_of(soup, pub):
    return soup.select_one(f'.cs-cal-item[data-pk="{pub.pk}"]')


def move(client, pub, **data):
    return client.post(url("calendar_move", pub.pk), data)


# --- What the calendar draws -------------------------------------------------------------


def test_today_is_marked_in_the_users_time_zone(client, marketer):
    client.force_login(marketer)
    today = shanghai_today().isoformat()
    for view in ("month", "week"):
        soup = calendar_page(client, view=view)
        marked = soup.select(".cs-cal-today[aria-current='date']")
        assert len(marked) == 1, view
        assert "Today" in marked[0].get_text()
        # Every drop target of today carries the marker, and no other day does.
        today_cells = soup.select(f'[data-drop-date="{today}"]')
        assert today_cells and all("cs-cal-today" in td["class"] for td in today_cells)
        others = soup.select("td.cs-cal-today")
        assert all(td["data-drop-date"] == today for td in others)


def test_each_channel_family_has_its_colour_a_legend_and_problems_stand_out(
    client, marketer, new_pub
):
    client.force_login(marketer)
    campaign = CampaignFactory()
    when = timezone.now() + datetime.timedelta(hours=2)
    pubs = {
        kind: new_pub(
            campaign=campaign,
            channel_account=ChannelAccountFactory(kind=kind),
            publish_at=when,
            title_override=f"On {kind}",
        )
        for kind in ("email/smtp", "ezine/email", "blog/wordpress", "forum/discourse")
    }
    failed = new_pub(
        campaign=campaign,
        channel_account=ChannelAccountFactory(kind="manual/placement"),
        publish_at=when,
        status=S.FAILED,
    )
    soup = calendar_page(client, date=timezone.localtime(when, SHANGHAI).date().isoformat())

    legend = soup.select_one(".cs-cal-legend").get_text()
    for label in ("Email", "E-zine", "Blog", "Forum", "Manual placement", "Failed"):
        assert label in legend
    for kind, pub in pubs.items():
        classes = item_of(soup, pub)["class"]
        assert f"cs-cal-item--{kind.split('/')[0]}" in classes
        assert "cs-cal-item--problem" not in classes
    failed_item = item_of(soup, failed)
    assert {"cs-cal-item--manual", "cs-cal-item--problem"} <= set(failed_item["class"])
    assert failed_item.select_one(".cs-status--failed").get_text() == "Failed"


def test_email_and_ezine_items_link_to_their_send_panel(client, marketer, new_pub):
    client.force_login(marketer)
    campaign = CampaignFactory()
    email, ezine, blog = (
        new_pub(campaign=campaign, channel_account=ChannelAccountFactory(kind=kind))
        for kind in ("email/smtp", "ezine/email", "blog/wordpress")
    )
    soup = calendar_page(client, date=tomorrow_at_ten().date().isoformat())
    for pub in (email, ezine):
        links = [a["href"] for a in item_of(soup, pub).select("a")]
        assert reverse("email_overview", args=[pub.pk]) in links
        assert url("publication_edit", pub.pk) in links
    assert not item_of(soup, blog).select(".cs-cal-send")
    # The link leads to a working page.
    assert client.get(reverse("email_overview", args=[email.pk])).status_code == 200


def test_week_view_is_a_time_grid_with_each_publication_at_its_hour(client, marketer, new_pub):
    client.force_login(marketer)
    day = shanghai_today() + datetime.timedelta(days=1)
    at = datetime.datetime.combine(day, datetime.time(14, 45), tzinfo=SHANGHAI)
    pub = new_pub(publish_at=at, title_override="Afternoon post")
    soup = calendar_page(client, view="week", date=day.isoformat())

    hours = [th.get_text(strip=True) for th in soup.select("th.cs-cal-hour")]
    assert hours == [f"{h:02d}:00" for h in range(24)]
    assert len(soup.select("thead th")) == 8  # the hour column and seven days
    slot = item_of(soup, pub).find_parent("td")
    assert slot["data-drop-date"] == day.isoformat() and slot["data-drop-hour"] == "14"
    assert "14:45" in item_of(soup, pub).get_text()


def test_plus_links_lead_to_a_campaign_choice_then_the_add_form_at_that_time(client, marketer):
    client.force_login(marketer)
    open_campaign = CampaignFactory(name="Spring sale", status=Campaign.Status.APPROVED)
    CampaignFactory(name="Old one", status=Campaign.Status.CANCELLED)
    day = shanghai_today() + datetime.timedelta(days=2)
    soup = calendar_page(client, view="week", date=day.isoformat())
    slot = soup.select_one(f'td[data-drop-date="{day.isoformat()}"][data-drop-hour="8"]')
    plus = slot.select_one("a.cs-cal-add")["href"]
    assert plus == url("calendar_new") + f"?publish_at={day.isoformat()}T08%3A00"
    # No "+" on a day that has passed.
    yesterday = (shanghai_today() - datetime.timedelta(days=1)).isoformat()
    past = calendar_page(client, date=yesterday).select_one(f'td[data-drop-date="{yesterday}"]')
    assert past is not None and not past.select("a.cs-cal-add")

    picker = BeautifulSoup(client.get(plus).content, "html.parser")
    names = [a.get_text() for a in picker.select("table.listing a")]
    assert names == ["Spring sale"]
    add_url = picker.select_one("table.listing a")["href"]
    assert add_url == (
        url("publication_create", open_campaign.pk) + f"?publish_at={day.isoformat()}T08%3A00"
    )
    assert client.get(add_url).status_code == 200

    # Filtered to one open campaign, "+" goes straight to its add form.
    soup = calendar_page(client, campaign=open_campaign.pk, date=day.isoformat())
    cell = soup.select_one(f'td[data-drop-date="{day.isoformat()}"]')
    assert cell.select_one("a.cs-cal-add")["href"] == (
        url("publication_create", open_campaign.pk) + f"?publish_at={day.isoformat()}T09%3A00"
    )


def test_picker_explains_a_bad_time(client, marketer):
    client.force_login(marketer)
    CampaignFactory(status=Campaign.Status.APPROVED)
    body = client.get(url("calendar_new"), {"publish_at": "31/12/2026"}).content.decode()
    assert "Give the time as YYYY-MM-DDTHH:MM" in body
    assert not BeautifulSoup(body, "html.parser").select("table.listing")


def test_leadership_sees_the_calendar_without_drag_or_plus(client, leader, new_pub):
    client.force_login(leader)
    pub = new_pub()
    soup = calendar_page(client, date=tomorrow_at_ten().date().isoformat())
    assert item_of(soup, pub) is not None
    assert not soup.select("[data-move-url]") and not soup.select("a.cs-cal-add")
    # Wagtail's answer to a refused admin page: back to the dashboard, with a message.
    response = client.get(url("calendar_new"), {"publish_at": "2030-01-01T09:00"})
    assert response.status_code == 302 and response["Location"] == reverse("wagtailadmin_home")


def test_only_rows_that_may_move_are_draggable(client, marketer, new_pub):
    client.force_login(marketer)
    campaign = CampaignFactory()
    by_status = {
        status: new_pub(campaign=campaign, status=status)
        for status in (S.DRAFT, S.SCHEDULED, S.PAUSED, S.QUEUED, S.PUBLISHED, S.FAILED)
    }
    soup = calendar_page(client, date=tomorrow_at_ten().date().isoformat())
    movable = {s for s, pub in by_status.items() if item_of(soup, pub).get("data-move-url")}
    assert movable == {S.DRAFT, S.SCHEDULED, S.PAUSED}


# --- Drag and drop -----------------------------------------------------------------------


def test_move_to_another_day_keeps_the_time_of_day_and_is_due_then(client, marketer, make_pub):
    pub = make_pub(3 * 86400)
    old_local = timezone.localtime(pub.publish_at, SHANGHAI)
    target = old_local.date() + datetime.timedelta(days=2)
    client.force_login(marketer)

    response = move(client, pub, date=target.isoformat())

    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["ok"] and answer["date"] == target.isoformat()
    assert answer["time"] == old_local.strftime("%H:%M") and "moved to" in answer["message"]
    pub.refresh_from_db()
    expected = datetime.datetime.combine(target, old_local.time(), tzinfo=SHANGHAI)
    assert pub.status == S.SCHEDULED
    assert pub.publish_at == expected and pub.due_at == expected
    assert PublicationEvent.objects.filter(
        publication=pub, actor=marketer, reason__startswith="Rescheduled"
    ).exists()


def test_move_to_a_week_slot_sets_the_hour_and_keeps_the_minutes(client, marketer, make_pub):
    pub = make_pub(3 * 86400)
    old_local = timezone.localtime(pub.publish_at, SHANGHAI)
    client.force_login(marketer)

    response = move(client, pub, date=old_local.date().isoformat(), hour="7")

    assert response.status_code == 200, response.content
    pub.refresh_from_db()
    local = timezone.localtime(pub.publish_at, SHANGHAI)
    assert (local.date(), local.hour, local.minute) == (old_local.date(), 7, old_local.minute)
    assert pub.due_at == pub.publish_at


def test_a_paused_row_moves_and_stays_paused(client, marketer, make_pub):
    from campaigns import services

    pub = make_pub(3 * 86400)
    services.pause_publication(pub, marketer)
    target = timezone.localtime(pub.publish_at, SHANGHAI).date() + datetime.timedelta(days=1)
    client.force_login(marketer)
    assert move(client, pub, date=target.isoformat()).json()["ok"]
    pub.refresh_from_db()
    assert pub.status == S.PAUSED and pub.due_at is None
    assert timezone.localtime(pub.publish_at, SHANGHAI).date() == target


def test_a_draft_keeps_being_a_draft_with_its_new_planned_time(client, marketer, campaign, new_pub):
    at = timezone.now() + datetime.timedelta(days=3)
    pub = new_pub(campaign=campaign, publish_at=at)
    target = timezone.localtime(at, SHANGHAI).date() + datetime.timedelta(days=1)
    client.force_login(marketer)
    assert move(client, pub, date=target.isoformat()).json()["ok"]
    pub.refresh_from_db()
    assert pub.status == S.DRAFT and pub.due_at is None
    assert timezone.localtime(pub.publish_at, SHANGHAI).date() == target


def test_refused_move_says_why_and_changes_nothing(client, marketer, make_pub):
    pub = make_pub(3 * 86400)
    before = (pub.publish_at, pub.due_at, pub.status)
    events = PublicationEvent.objects.count()
    client.force_login(marketer)

    past = shanghai_today() - datetime.timedelta(days=3)
    response = move(client, pub, date=past.isoformat())
    assert response.status_code == 200
    assert not response.json()["ok"]
    assert any("is in the past" in m for m in response.json()["errors"])

    outside = datetime.date(2100, 1, 5)  # after the campaign ends (2099-12-31)
    errors = move(client, pub, date=outside.isoformat()).json()["errors"]
    assert any("outside the campaign" in m for m in errors), errors

    pub.refresh_from_db()
    assert (pub.publish_at, pub.due_at, pub.status) == before
    assert PublicationEvent.objects.count() == events


def test_a_published_row_cannot_be_dragged(client, marketer, campaign, new_pub):
    pub = new_pub(campaign=campaign, status=S.PUBLISHED)
    before = pub.publish_at
    client.force_login(marketer)
    tomorrow = shanghai_today() + datetime.timedelta(days=1)
    response = move(client, pub, date=tomorrow.isoformat())
    assert response.status_code == 200
    assert "A published publication cannot be moved" in response.json()["errors"][0]
    pub.refresh_from_db()
    assert pub.publish_at == before


def test_bad_drop_data_is_answered_clearly(client, marketer, make_pub):
    pub = make_pub(3 * 86400)
    client.force_login(marketer)
    response = move(client, pub, date="next tuesday", hour="25")
    assert response.status_code == 400
    errors = " ".join(response.json()["errors"])
    assert "Enter a valid date." in errors and "less than or equal to 23" in errors


def test_move_needs_change_permission_and_a_post(client, leader, marketer, make_pub):
    pub = make_pub(3 * 86400)
    before = pub.publish_at
    tomorrow = (shanghai_today() + datetime.timedelta(days=4)).isoformat()
    client.force_login(leader)
    refused = move(client, pub, date=tomorrow)
    assert refused.status_code == 403
    assert refused.json()["errors"] == ["You do not have permission to move publications."]
    client.force_login(marketer)
    assert client.get(url("calendar_move", pub.pk), {"date": tomorrow}).status_code == 405
    pub.refresh_from_db()
    assert pub.publish_at == before


def test_move_needs_the_csrf_token(marketer, make_pub):
    from django.test import Client

    pub = make_pub(3 * 86400)
    client = Client(enforce_csrf_checks=True)
    client.force_login(marketer)
    tomorrow = (shanghai_today() + datetime.timedelta(days=4)).isoformat()
    assert move(client, pub, date=tomorrow).status_code == 403
    soup = calendar_page(client)
    token = soup.select_one("[data-cs-calendar] input[name=csrfmiddlewaretoken]")["value"]
    strings = json.loads(soup.select_one("#cs-calendar-strings").string)
    assert strings["refused"]
    response = client.post(
        url("calendar_move", pub.pk), {"date": tomorrow}, headers={"X-CSRFToken": token}
    )
    assert response.status_code == 200 and response.json()["ok"], response.content


def test_the_calendar_speaks_the_users_language(client, marketer):
    profile = UserProfile.get_for_user(marketer)
    profile.preferred_language = "zh-hans"
    profile.save()
    client.force_login(marketer)
    soup = calendar_page(client, date="2026-12-06")
    assert soup.select_one(".cs-cal-title").get_text(strip=True) == "2026年12月"
    assert [th.get_text() for th in soup.select(".cs-cal--month thead th")][:2] == [
        "星期一",
        "星期二",
    ]


def test_a_bad_filter_is_shown_and_the_others_still_apply(client, marketer, new_pub):
    client.force_login(marketer)
    pub = new_pub(title_override="Still here")
    soup = calendar_page(
        client, view="week", campaign="999999", date=tomorrow_at_ten().date().isoformat()
    )
    assert "Select a valid choice" in soup.select_one(".cs-cal-filters").get_text()
    assert soup.select(".cs-cal--week") and item_of(soup, pub) is not None
