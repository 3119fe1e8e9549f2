# ruff: noqa: F811 - the email fixtures are imported, then used by name
"""The send panel (/admin/email/<publication>/): its checklist, the audience and test
forms, pause/resume/cancel in words, and who may see and act. Through HTTP."""

import html
import re

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from campaigns.audiences.models import Segment
from campaigns.models import Campaign
from campaigns.services import schedule_publication
from channels.email import services
from channels.email.models import EmailSend
from tests.campaigns.audiences.factories import MailingListFactory
from tests.channels.email.conftest import (  # noqa: F401 - fixtures
    drain,
    email_account,
    email_publication,
    mailing_list,
    make_subscribers,
    no_celery,
    publish,
    smtp_server,
)
from tests.factories import ChannelAccountFactory, PublicationFactory, UserFactory, make_post

pytestmark = pytest.mark.django_db


def panel_url(publication):
    return reverse("email_overview", args=[publication.pk])


def checklist(html: str) -> dict[str, str]:
    """{item key: its state class and text} from the rendered checklist."""
    items = {}
    for state, key, body in re.findall(
        r'<li class="send-checklist__item (is-\w+)" data-check="(\w+)">(.*?)</li>',
        html,
        flags=re.S,
    ):
        items[key] = (state, re.sub(r"<[^>]+>|\s+", " ", body))
    return items


def item(response, key):
    state, text = checklist(response.content.decode())[key]
    return state, " ".join(html.unescape(text).split())


@pytest.fixture
def leader(db):
    return UserFactory(username="leader", groups=["Leadership"])


@pytest.fixture
def editor(db):
    Group.objects.get_or_create(name="Editors")
    return UserFactory(username="editor", groups=["Editors"])


def test_checklist_ticks_every_item_of_a_complete_scheduled_email(
    client, marketer, mailing_list, email_publication
):
    make_subscribers(mailing_list, 3)
    campaign = email_publication.campaign
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.APPROVED)
    email_publication.refresh_from_db()
    schedule_publication(email_publication, email_publication.publish_at)
    client.force_login(marketer)
    session = client.session
    session[f"email_test:{email_publication.pk}"] = {"to": ["me@example.com"], "at": "12:00"}
    session.save()

    response = client.get(panel_url(email_publication))

    assert response.status_code == 200
    for key in ("audience", "from", "subject", "content", "preview", "test", "schedule"):
        assert item(response, key)[0] == "is-ok", key
    assert "3 recipients right now" in item(response, "audience")[1]
    assert "Hub News <news@hub.example.com>" in item(response, "from")[1]
    assert "Scheduled for" in item(response, "schedule")[1]
    assert "Everything needed is in place." in response.content.decode()


def test_checklist_says_what_is_missing_in_words(client, marketer, blog):
    account = ChannelAccountFactory(kind="email/smtp", settings={"host": "127.0.0.1"})
    page = make_post(blog, publish=False, title="Draft post")
    publication = PublicationFactory(page=page, channel_account=account, publish_at=None)
    client.force_login(marketer)

    response = client.get(panel_url(publication))

    state, text = item(response, "audience")
    assert state == "is-missing" and "No mailing list chosen" in text
    state, text = item(response, "subject")
    assert state == "is-missing" and "No subject" in text and "Draft post" in text
    state, text = item(response, "from")
    assert state == "is-missing" and "no from address" in text and "no postal address" in text
    state, text = item(response, "content")
    assert state == "is-missing" and "not approved yet" in text
    state, text = item(response, "schedule")
    assert state == "is-missing" and "Not scheduled." in text and "is not approved" in text
    assert item(response, "test")[0] == "is-open"
    body = response.content.decode()
    # Each missing item links to where it is fixed.
    assert reverse("campaigns_admin:publication_edit", args=[publication.pk]) in body
    assert 'href="#send-audience"' in body
    # The page's edit link only for someone who may edit pages (marketers may not).
    assert reverse("wagtailadmin_pages:edit", args=[page.pk]) not in body
    client.force_login(UserFactory(username="boss", is_superuser=True))
    body = client.get(panel_url(publication)).content.decode()
    assert reverse("wagtailadmin_pages:edit", args=[page.pk]) in body
    assert 'href="#send-audience"' in body
    assert "as_p" not in body and 'class="w-field__wrapper' in body


def test_audience_form_sets_a_segment_and_counts_it(
    client, marketer, mailing_list, email_publication
):
    make_subscribers(mailing_list, 4)
    other = MailingListFactory(slug="other", name="Other")
    segment = Segment.objects.create(name="Everyone", mailing_list=mailing_list, filters={})
    wrong = Segment.objects.create(name="Elsewhere", mailing_list=other, filters={})
    client.force_login(marketer)
    url = panel_url(email_publication)

    refused = client.post(
        url,
        {
            "action": "audience",
            "audience-mailing_list": mailing_list.pk,
            "audience-segment": wrong.pk,
        },
    )
    assert refused.status_code == 200
    assert "belongs to the list “Other”" in refused.content.decode()

    saved = client.post(
        url,
        {
            "action": "audience",
            "audience-mailing_list": mailing_list.pk,
            "audience-segment": segment.pk,
        },
        follow=True,
    )
    assert "Audience saved." in saved.content.decode()
    assert EmailSend.objects.get(publication=email_publication).segment == segment
    state, text = item(saved, "audience")
    assert (
        state == "is-ok"
        and "Segment “Everyone” of the list “News”" in text
        and "4 recipients" in text
    )


def test_test_send_goes_out_and_ticks_the_item(client, marketer, smtp_server, email_publication):
    _controller, handler = smtp_server
    client.force_login(marketer)
    url = panel_url(email_publication)

    bad = client.post(url, {"action": "test", "test-addresses": "me@example.com, nope"})
    assert "Not an email address: nope" in bad.content.decode()
    assert handler.messages == []

    response = client.post(url, {"action": "test", "test-addresses": "me@example.com"}, follow=True)
    assert "Test sent to 1 address." in response.content.decode()
    assert [rcpts for rcpts, _raw in handler.messages] == [["me@example.com"]]
    state, text = item(response, "test")
    assert state == "is-ok" and "me@example.com" in text
    assert re.search(r"\d\d:\d\d \([A-Za-z_/]+\)", text), text  # its time names its zone


def test_pause_resume_cancel_answer_in_words(
    client, marketer, no_celery, mailing_list, email_publication
):
    make_subscribers(mailing_list, 25)
    send = publish(email_publication)
    services.send_next_batch(send.pk)  # 10 of 25 sent
    client.force_login(marketer)
    url = panel_url(email_publication)

    paused = client.post(url, {"action": "pause"}, follow=True).content.decode()
    assert "Sending paused: 15 messages wait. Resume to continue." in paused
    assert "Done." not in paused
    again = client.post(url, {"action": "pause"}, follow=True).content.decode()
    assert "Nothing to pause: the send is paused." in again

    resumed = client.post(url, {"action": "resume"}, follow=True).content.decode()
    assert "Sending resumed: 15 messages to go." in resumed

    cancelled = client.post(url, {"action": "cancel"}, follow=True).content.decode()
    assert "Sending cancelled: 15 messages will not be sent." in cancelled
    send.refresh_from_db()
    assert send.status == EmailSend.Status.CANCELLED


def test_progress_is_rendered_on_first_load_with_translated_labels(
    client, marketer, no_celery, mailing_list, email_publication
):
    make_subscribers(mailing_list, 25)
    send = publish(email_publication)
    services.send_next_batch(send.pk)
    client.force_login(marketer)

    body = client.get(panel_url(email_publication)).content.decode()

    assert 'value="40"' in body  # 10 of 25 in the bar
    assert "Still to send" in body and "messages a minute" in body
    assert "pending:" not in body
    assert 'data-running="true"' in body and "send_progress.js" in body


def denied(response) -> bool:
    """Wagtail answers a refused admin page with a redirect home and a message, and a
    refused XMLHttpRequest (the panel's polling) with 403."""
    if response.status_code == 302:
        return response["Location"] == reverse("wagtailadmin_home")
    return response.status_code == 403


def test_permissions(client, leader, editor, no_celery, mailing_list, email_publication):
    make_subscribers(mailing_list, 3)
    send = publish(email_publication)
    url = panel_url(email_publication)
    progress_url = reverse("email_progress", args=[email_publication.pk])
    client.force_login(leader)  # may view publications, not change them
    assert client.get(url).status_code == 200
    assert client.get(progress_url).status_code == 200
    assert denied(client.post(url, {"action": "pause"}))
    send.refresh_from_db()
    assert send.status == EmailSend.Status.SENDING
    body = client.get(url).content.decode()
    assert 'id="send-test"' not in body and 'id="send-audience"' not in body
    assert 'value="pause"' not in body

    client.force_login(editor)  # no publication permission at all
    for name in ("email_overview", "email_progress", "email_preview"):
        assert denied(client.get(reverse(name, args=[email_publication.pk])))
    assert denied(client.get(reverse("email_sends")))
    xhr = client.get(progress_url, headers={"x-requested-with": "XMLHttpRequest"})
    assert xhr.status_code == 403


def test_the_panel_refuses_a_publication_of_another_channel(client, marketer, blog):
    publication = PublicationFactory(
        page=make_post(blog), channel_account=ChannelAccountFactory(kind="blog/wagtail_site")
    )
    client.force_login(marketer)
    assert client.get(panel_url(publication)).status_code == 404
