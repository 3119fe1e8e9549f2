"""Discourse adapter against a loopback server speaking its REST API."""

import datetime

import pytest
from django.utils import timezone

from channels.base import AlreadyPublished, OutcomeUnknown

from .fakes import FakeDiscourse
from .helpers import publish_error, short_timeout
from .loopback import Reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def forum(loopback):
    return loopback(FakeDiscourse())


@pytest.fixture
def publication(make_publication, forum):
    return make_publication(
        "forum/discourse",
        settings={"base_url": forum.url, "api_username": "system", "category": "Announcements"},
        secrets={"api_key": "k-123"},
        tags="spring, sale",
        forum_category="营销",
    )


def test_publish_creates_topic_with_exact_request(publication, forum):
    adapter = publication.channel_account.get_adapter()
    rendered = adapter.render(publication)
    result = adapter.publish(publication, rendered)

    assert [(r.method, r.path, r.query) for r in forum.requests] == [
        ("GET", "/categories.json", {"include_subcategories": "true"}),
        ("POST", "/posts.json", {}),
    ]
    post = forum.requests[1]
    assert post.headers["api-key"] == "k-123"
    assert post.headers["api-username"] == "system"
    assert post.json() == {
        "title": "Spring sale guide",
        "raw": rendered.markdown,
        "external_id": str(publication.idempotency_key),
        "category": 7,  # the per-publication category override, found by name
        "tags": ["spring", "sale"],
    }
    assert "/t/" in rendered.markdown and "shop.example.com" not in rendered.markdown
    assert result.external_id == "10"
    assert result.url == f"{forum.url}/t/spring-sale-guide/10"


def test_bad_api_key_is_permanent(make_publication, forum):
    publication = make_publication(
        "forum/discourse",
        settings={"base_url": forum.url, "api_username": "system"},
        secrets={"api_key": "wrong"},
    )
    adapter = publication.channel_account.get_adapter()
    error = publish_error(adapter.publish, publication, adapter.render(publication))
    assert error.permanent and "403" in error.message
    assert forum.topics == []


def test_401_is_permanent(publication, forum):
    forum.faults.append(Reply(401, {"errors": ["not logged in"]}))
    adapter = publication.channel_account.get_adapter()
    assert publish_error(adapter.publish, publication, adapter.render(publication)).permanent


def test_429_with_retry_after_is_transient(publication, forum):
    forum.faults.append(
        Reply(
            429,
            {
                "errors": ["You’ve performed this action too many times."],
                "extras": {"wait_seconds": 37},
            },
            {"Retry-After": "37"},
        )
    )
    adapter = publication.channel_account.get_adapter()
    error = publish_error(adapter.publish, publication, adapter.render(publication))
    assert error.permanent is False
    assert error.retry_after == 37


def test_5xx_is_transient(publication, forum):
    forum.faults.append(Reply(502, "Bad gateway"))
    adapter = publication.channel_account.get_adapter()
    assert (
        publish_error(adapter.publish, publication, adapter.render(publication)).permanent is False
    )


def test_422_validation_error_is_permanent_with_the_reason(publication, forum):
    forum.faults.append(Reply(200, {"category_list": {"categories": forum.service.categories}}))
    forum.faults.append(Reply(422, {"errors": ["Title is too short (minimum is 15 characters)"]}))
    adapter = publication.channel_account.get_adapter()
    error = publish_error(adapter.publish, publication, adapter.render(publication))
    assert error.permanent and "Title is too short" in error.message


@short_timeout
def test_timeout_is_transient(publication, forum):
    adapter = publication.channel_account.get_adapter()
    rendered = adapter.render(publication)
    forum.service.delay = 1.0
    assert publish_error(adapter.publish, publication, rendered).permanent is False


def test_lost_response_then_find_existing_by_external_id(publication, forum):
    adapter = publication.channel_account.get_adapter()
    rendered = adapter.render(publication)
    forum.service.drop_after_create = True
    assert isinstance(publish_error(adapter.publish, publication, rendered), OutcomeUnknown)
    forum.service.drop_after_create = False

    found = adapter.find_existing(publication)
    assert found is not None and found.external_id == "10"
    assert found.url == f"{forum.url}/t/spring-sale-guide/10"
    lookups = [r.path for r in forum.requests if r.method == "GET"]
    assert f"/t/external_id/{publication.idempotency_key}.json" in lookups
    assert len(forum.service.topics) == 1
    assert len(forum.calls("POST", "/posts.json")) == 1


def test_find_existing_none_when_never_posted(publication, forum):
    assert publication.channel_account.get_adapter().find_existing(publication) is None


def test_external_id_taken_is_already_published(publication, forum):
    adapter = publication.channel_account.get_adapter()
    adapter.publish(publication, adapter.render(publication))
    error = publish_error(adapter.publish, publication, adapter.render(publication))
    assert isinstance(error, AlreadyPublished) and "External ID" in error.message
    assert len(forum.service.topics) == 1


def test_a_refusal_in_another_language_is_checked_by_a_lookup(publication, forum):
    adapter = publication.channel_account.get_adapter()
    adapter.publish(publication, adapter.render(publication))
    forum.faults.append(Reply(200, {"category_list": {"categories": forum.service.categories}}))
    forum.faults.append(Reply(422, {"errors": ["外部 ID 已经被使用"]}))
    error = publish_error(adapter.publish, publication, adapter.render(publication))
    assert isinstance(error, AlreadyPublished)
    lookup, redirected = forum.requests[-2:]
    assert lookup.path == f"/t/external_id/{publication.idempotency_key}.json"
    assert redirected.path == "/t/spring-sale-guide/10.json"


def test_an_unreadable_answer_to_the_create_is_outcome_unknown(publication, forum):
    forum.faults.append(Reply(200, {"category_list": {"categories": forum.service.categories}}))
    forum.faults.append(Reply(200, "<html>Please wait…</html>", {"Content-Type": "text/html"}))
    adapter = publication.channel_account.get_adapter()
    error = publish_error(adapter.publish, publication, adapter.render(publication))
    assert isinstance(error, OutcomeUnknown) and "Please wait" in error.message


def test_a_subcategory_can_be_chosen(make_publication, forum):
    publication = make_publication(
        "forum/discourse",
        settings={"base_url": forum.url, "api_username": "system"},
        secrets={"api_key": "k-123"},
        forum_category="Spring deals",
    )
    adapter = publication.channel_account.get_adapter()
    adapter.publish(publication, adapter.render(publication))
    assert forum.calls("POST", "/posts.json")[0].json()["category"] == 9


def test_test_connection_works_with_only_the_publishing_scopes(publication, forum):
    forum.service.api_keys["k-publish"] = FakeDiscourse.PUBLISHING_SCOPES
    account = publication.channel_account
    account.secrets = {"api_key": "k-publish"}
    account.get_adapter().validate_account(account)  # no error
    assert not forum.calls(path="/session/current.json")
    assert [r.path for r in forum.requests] == [
        "/categories.json",
        forum.requests[-1].path,  # a lookup by an external id nobody has: 404
    ] and forum.requests[-1].path.startswith("/t/external_id/campaignhub-connection-test-")


def test_test_connection_says_which_scope_is_missing(publication, forum):
    forum.service.api_keys["k-no-read"] = {"posts#create", "categories#index"}
    account = publication.channel_account
    account.secrets = {"api_key": "k-no-read"}
    error = publish_error(account.get_adapter().validate_account, account)
    assert error.permanent and "topics: read" in error.message


def test_check_publication_accepts_a_good_one(publication, forum):
    assert publication.channel_account.get_adapter().check_publication(publication) == []
    settings_call = forum.calls("GET", "/site/settings.json")[0]
    assert "api-key" not in settings_call.headers  # public settings, read without the key


def test_check_publication_reports_a_missing_category(publication, forum):
    publication.forum_category = "Nope"
    problems = publication.channel_account.get_adapter().check_publication(publication)
    assert len(problems) == 1 and "Nope" in problems[0]


def test_check_publication_counts_title_characters_chinese_too(publication, forum):
    publication.title_override = "春季大促销活动指南"  # 9 characters (27 bytes in UTF-8)
    problems = publication.channel_account.get_adapter().check_publication(publication)
    assert len(problems) == 1 and "9" in problems[0] and "15" in problems[0]
    forum.service.site_settings["min_topic_title_length"] = 8
    assert publication.channel_account.get_adapter().check_publication(publication) == []
    forum.service.site_settings["max_topic_title_length"] = 8
    (problem,) = publication.channel_account.get_adapter().check_publication(publication)
    assert "at most 8" in problem


def test_check_publication_reports_refused_credentials(publication, forum):
    publication.channel_account.secrets = {"api_key": "wrong"}
    problems = publication.channel_account.get_adapter().check_publication(publication)
    assert len(problems) == 1 and "403" in problems[0]


def test_validate_account_reports_a_wrong_category(publication, forum):
    account = publication.channel_account
    account.get_adapter().validate_account(account)
    account.settings["category"] = "Nope"
    error = publish_error(account.get_adapter().validate_account, account)
    assert error.permanent and "Nope" in error.message


def test_non_internal_account_refused(make_publication, forum):
    publication = make_publication(
        "forum/discourse",
        settings={"base_url": forum.url, "api_username": "system"},
        secrets={"api_key": "k-123"},
        internal=False,
    )
    adapter = publication.channel_account.get_adapter()
    error = publish_error(adapter.publish, publication, adapter.render(publication))
    assert error.permanent and forum.requests == []


def test_scheduling_is_refused_with_the_forums_own_rules(publication, forum, marketer):
    """Checked when the marketer schedules, not found out at publish time."""
    from django.core.exceptions import ValidationError

    from campaigns import services
    from campaigns.models import Campaign

    Campaign.objects.filter(pk=publication.campaign_id).update(status=Campaign.Status.APPROVED)
    publication.refresh_from_db()
    publication.title_override = "春季大促销活动指南"  # 9 characters; the forum wants 15
    when = timezone.now() + datetime.timedelta(hours=2)
    with pytest.raises(ValidationError) as refused:
        services.save_publication(publication, marketer, schedule=True, publish_at=when)
    assert any("15" in message for message in refused.value.messages)
    publication.refresh_from_db()
    assert publication.status == "draft" and publication.title_override == ""  # nothing saved

    publication.title_override = "春季大促销活动指南：十五个字以上的标题"
    services.save_publication(publication, marketer, schedule=True, publish_at=when)
    publication.refresh_from_db()
    assert publication.status == "scheduled"


def test_a_topic_held_for_review_is_posted_once_and_reported(publication, forum):
    from .helpers import make_due, run_attempts_until_settled

    forum.service.review_new_topics = True
    make_due(publication)
    assert run_attempts_until_settled(publication) == ["failed"]
    assert "review queue" in publication.last_error
    assert len(forum.service.pending) == 1  # never queued a second time
