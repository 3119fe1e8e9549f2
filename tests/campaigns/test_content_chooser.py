"""The content chooser of the publication form, through HTTP: only publishable page
types, with type, status, language and last edit; searchable; permission-checked; the
form uses it and `?page=` still preselects. And the publication's Send panel button."""

import pytest
from django.urls import reverse

from tests.factories import (
    ChannelAccountFactory,
    PublicationFactory,
    UserFactory,
    make_email_issue,
    make_post,
    make_soft_article,
)

pytestmark = pytest.mark.django_db

CHOOSE = "campaigns_content_chooser:choose"
RESULTS = "campaigns_content_chooser:choose_results"
CHOSEN = "campaigns_content_chooser:chosen"


@pytest.fixture
def marketer(db):
    return UserFactory(username="mia", groups=["Marketers"])


@pytest.fixture
def pages(home_page, blog):
    return {
        "post": make_post(blog, title="Spring sale guide", slug="spring"),
        "twin": make_post(blog, title="Spring sale guide", slug="spring-2", publish=False),
        "chinese": make_post(blog, title="春季促销指南", slug="chun", language="zh-hans"),
        "soft": make_soft_article(blog),
        "email": make_email_issue(home_page),
        "blog": blog,
        "home": home_page,
    }


def modal_html(response):
    assert response.status_code == 200, response.content[:500]
    return response.json()["html"]


def test_the_chooser_lists_publishable_content_with_type_status_language_and_edit(
    client, marketer, pages
):
    client.force_login(marketer)

    html = modal_html(client.get(reverse(CHOOSE)))

    for key in ("post", "chinese", "soft", "email"):
        assert reverse(CHOSEN, args=[pages[key].pk]) in html
    # Index and home pages cannot be published on a channel: not offered.
    assert reverse(CHOSEN, args=[pages["blog"].pk]) not in html
    assert reverse(CHOSEN, args=[pages["home"].pk]) not in html
    for heading in ("Type", "Status", "Language", "Last edited"):
        assert heading in html
    assert "blog post" in html and "soft article" in html and "email issue" in html
    assert "Simplified Chinese" in html and "English" in html
    # The twin titles are told apart by their status.
    assert "live" in html and "draft" in html


def test_search_and_type_filter_narrow_the_list(client, marketer, pages):
    client.force_login(marketer)

    found = client.get(reverse(RESULTS), {"q": "促销"}).content.decode()
    assert reverse(CHOSEN, args=[pages["chinese"].pk]) in found
    assert reverse(CHOSEN, args=[pages["post"].pk]) not in found

    emails = client.get(reverse(RESULTS), {"content_type": "emailissuepage"}).content.decode()
    assert reverse(CHOSEN, args=[pages["email"].pk]) in emails
    assert reverse(CHOSEN, args=[pages["post"].pk]) not in emails


def test_choosing_returns_the_page_described(client, marketer, pages):
    client.force_login(marketer)

    result = client.get(reverse(CHOSEN, args=[pages["twin"].pk])).json()["result"]

    assert result["id"] == str(pages["twin"].pk)
    assert result["title"] == "Spring sale guide · blog post · draft"
    # An index page cannot be chosen even by its URL.
    assert client.get(reverse(CHOSEN, args=[pages["blog"].pk])).status_code == 404


def test_the_chooser_needs_a_publication_permission(client, pages):
    client.force_login(UserFactory(username="lee", groups=["Leadership"]))

    for response in (
        client.get(reverse(CHOOSE)),
        client.get(reverse(CHOSEN, args=[pages["post"].pk])),
    ):
        assert response.status_code in (302, 403)
        assert response.get("Content-Type") != "application/json"


def test_the_publication_form_uses_the_chooser_and_page_preselects(
    client, marketer, campaign, pages
):
    client.force_login(marketer)
    add = reverse("campaigns_admin:publication_create", args=[campaign.pk])

    empty = client.get(add).content.decode()
    assert reverse(CHOOSE) in empty
    assert "Choose content" in empty
    # No flat dropdown of every page any more.
    assert f'<option value="{pages["blog"].pk}"' not in empty

    chosen = client.get(add, {"page": pages["post"].pk}).content.decode()
    assert "Spring sale guide · blog post · live" in chosen
    assert f'name="page" value="{pages["post"].pk}"' in chosen


def test_an_index_page_is_refused_by_the_form(client, marketer, campaign, pages, site):
    hub = ChannelAccountFactory(kind="blog/wagtail_site", name="Hub", rate_limit_per_minute=0)
    client.force_login(marketer)
    add = reverse("campaigns_admin:publication_create", args=[campaign.pk])

    response = client.post(
        add,
        {
            "page": pages["blog"].pk, "channel_account": hub.pk, "timezone": "UTC",
            "publish_at": "2030-12-31 08:30",
        },
    )  # fmt: skip

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


@pytest.mark.parametrize("kind, shown", [("email/smtp", True), ("blog/wagtail_site", False)])
def test_send_panel_button_on_email_publications(client, marketer, campaign, pages, kind, shown):
    account = ChannelAccountFactory(kind=kind, name="Account", rate_limit_per_minute=0)
    pub = PublicationFactory(campaign=campaign, page=pages["email"], channel_account=account)
    client.force_login(marketer)

    page = client.get(reverse("campaigns_admin:publication_edit", args=[pub.pk])).content.decode()
    # The campaign page links it too, before any audience is chosen (no send yet).
    listing = client.get(reverse("campaigns_admin:detail", args=[campaign.pk])).content.decode()

    assert (reverse("email_overview", args=[pub.pk]) in page) is shown
    assert ("Send panel" in page) is shown
    assert (reverse("email_overview", args=[pub.pk]) in listing) is shown
