"""The e-zine setup screen (Channels > E-zines): create and edit through the viewset's
form, clear errors for a bad cadence, zone or feed address, runs listed with their
publications, and who may reach it. Through HTTP."""

import html
import re

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from campaigns.audiences.models import MailingList
from channels.ezine.models import EZine, EZineRun, PartnerFeed
from content.models import EZinePage
from tests.factories import (
    CampaignFactory,
    ChannelAccountFactory,
    PublicationFactory,
    UserFactory,
    add_child,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def parts(home_page):
    return {
        "page": add_child(home_page, EZinePage(title="Weekly", slug="weekly")),
        "campaign": CampaignFactory(name="Always on"),
        "account": ChannelAccountFactory(kind="ezine/email", name="Weekly SMTP"),
        "list": MailingList.objects.create(name="Weekly readers", slug="weekly"),
    }


def form_data(parts, feeds=(), **overrides):
    data = {
        "page": parts["page"].pk,
        "campaign": parts["campaign"].pk,
        "channel_account": parts["account"].pk,
        "mailing_list": parts["list"].pk,
        "cadence": "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0",
        "time_zone": "Asia/Shanghai",
        "section_tags": "news, deals",
        "is_active": "on",
        "partner_feeds-TOTAL_FORMS": str(len(feeds)),
        "partner_feeds-INITIAL_FORMS": "0",
        "partner_feeds-MIN_NUM_FORMS": "0",
        "partner_feeds-MAX_NUM_FORMS": "1000",
    }
    for i, (name, url) in enumerate(feeds):
        data.update(
            {
                f"partner_feeds-{i}-name": name,
                f"partner_feeds-{i}-url": url,
                f"partner_feeds-{i}-max_items": "5",
                f"partner_feeds-{i}-id": "",
            }
        )
    data.update(overrides)
    return data


def errors(response) -> str:
    text = " ".join(
        re.findall(r'class="error-message[^"]*"[^>]*>(.*?)</', response.content.decode(), re.S)
    )
    return html.unescape(re.sub(r"<[^>]+>|\s+", " ", text))


def test_a_marketer_reaches_the_setup_from_the_menu_and_creates_an_ezine(client, marketer, parts):
    client.force_login(marketer)
    home = client.get(reverse("wagtailadmin_home")).content.decode()
    assert f'"{reverse("ezines:index")}"' in home  # Channels > E-zines in the sidebar
    add_form = client.get(reverse("ezines:add")).content.decode()
    assert "as_p" not in add_form and "w-field__wrapper" in add_form
    assert 'value="Asia/Shanghai"' in add_form  # the zone is a choice, not free text

    response = client.post(
        reverse("ezines:add"),
        form_data(parts, feeds=[("Partner news", "https://partner.example.com/feed.xml")]),
    )

    assert response.status_code == 302, errors(response)
    ezine = EZine.objects.get()
    assert ezine.time_zone == "Asia/Shanghai" and ezine.mailing_list == parts["list"]
    assert ezine.tag_list == ["news", "deals"]
    assert list(ezine.partner_feeds.values_list("name", "url")) == [
        ("Partner news", "https://partner.example.com/feed.xml")
    ]
    index = client.get(reverse("ezines:index")).content.decode()
    assert "Weekly" in index and "Always on" in index


def test_a_bad_cadence_and_zone_are_refused_in_words(client, marketer, parts):
    client.force_login(marketer)

    bad_rule = client.post(reverse("ezines:add"), form_data(parts, cadence="EVERY MONDAY"))
    assert bad_rule.status_code == 200
    assert "needs a FREQ" in errors(bad_rule)
    too_often = client.post(reverse("ezines:add"), form_data(parts, cadence="FREQ=MINUTELY"))
    assert "more frequent than hourly" in errors(too_often)
    ended = client.post(
        reverse("ezines:add"), form_data(parts, cadence="FREQ=DAILY;UNTIL=20200101T000000")
    )
    assert "no run after today" in errors(ended)
    bad_zone = client.post(reverse("ezines:add"), form_data(parts, time_zone="Mars/Olympus"))
    assert "Mars/Olympus" in errors(bad_zone)
    assert not EZine.objects.exists()


def test_a_bad_feed_address_is_refused_in_words(client, marketer, parts):
    client.force_login(marketer)

    garbled = client.post(
        reverse("ezines:add"), form_data(parts, feeds=[("Partner", "partner news feed")])
    )
    assert garbled.status_code == 200 and "Enter a valid URL" in errors(garbled)
    ftp = client.post(
        reverse("ezines:add"), form_data(parts, feeds=[("Partner", "ftp://partner.example.com/f")])
    )
    assert ftp.status_code == 200 and "starting with http:// or https://" in errors(ftp)
    loopback = client.post(
        reverse("ezines:add"), form_data(parts, feeds=[("Partner", "http://127.0.0.1/feed")])
    )
    assert loopback.status_code == 200
    assert "private or loopback address" in errors(loopback)
    assert not EZine.objects.exists()

    internal = form_data(parts, feeds=[("Intranet", "http://127.0.0.1/feed")])
    internal["partner_feeds-0-is_internal"] = "on"
    assert client.post(reverse("ezines:add"), internal).status_code == 302
    assert PartnerFeed.objects.get().is_internal


def test_the_edit_screen_lists_next_runs_and_past_runs_with_their_publication(
    client, marketer, parts
):
    ezine = EZine.objects.create(
        page=parts["page"],
        campaign=parts["campaign"],
        channel_account=parts["account"],
        mailing_list=parts["list"],
        time_zone="Asia/Shanghai",
    )
    publication = PublicationFactory(
        campaign=parts["campaign"], page=parts["page"], channel_account=parts["account"]
    )
    EZineRun.objects.create(
        ezine=ezine,
        outcome=EZineRun.Outcome.ISSUED,
        message="Issue 1 published.",
        publication=publication,
    )
    EZineRun.objects.create(
        ezine=ezine, outcome=EZineRun.Outcome.SKIPPED, message="Nothing new since then."
    )
    client.force_login(marketer)

    body = client.get(reverse("ezines:edit", args=[ezine.pk])).content.decode()

    assert "Issue 1 published." in body and "Nothing new since then." in body
    assert reverse("email_overview", args=[publication.pk]) in body
    # Mondays 09:00 in Shanghai, five of them.
    assert len(re.findall(r"\d{4}-\d\d-\d\d 09:00 \(Asia/Shanghai\)", body)) == 5


def test_who_may_reach_the_setup(client, parts):
    Group.objects.get_or_create(name="Editors")
    editor = UserFactory(username="editor", groups=["Editors"])
    client.force_login(editor)
    home = client.get(reverse("wagtailadmin_home")).content.decode()
    assert f'"{reverse("ezines:index")}"' not in home
    response = client.get(reverse("ezines:add"))
    assert response.status_code == 302 and response["Location"] == reverse("wagtailadmin_home")
    assert client.post(reverse("ezines:add"), form_data(parts)).status_code == 302
    assert not EZine.objects.exists()
