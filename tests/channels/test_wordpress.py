"""WordPress REST adapter against a loopback server speaking wp-json/wp/v2."""

import base64

import pytest
from django.conf import settings

from channels.base import AlreadyPublished, OutcomeUnknown
from channels.blog.wordpress import key_marker, post_slug, slug_marker

from .fakes import FakeWordPress
from .helpers import make_image, publish_error, short_timeout
from .loopback import Reply

pytestmark = pytest.mark.django_db

AUTH = "Basic " + base64.b64encode(b"editor:abcd efgh ijkl mnop").decode()


@pytest.fixture
def wp(loopback):
    return loopback(FakeWordPress())


@pytest.fixture
def publication(make_publication, wp):
    return make_publication(
        "blog/wordpress",
        settings={"base_url": wp.url, "username": "editor"},
        secrets={"application_password": "abcd efgh ijkl mnop"},
        tags="Spring, Tips & Tricks",
        forum_category="News",
        title_override="Spring sale, the guide",
        excerpt_override="Plan it early.",
    )


def _publish(publication):
    adapter = publication.channel_account.get_adapter()
    rendered = adapter.render(publication)
    return adapter, rendered, adapter.publish(publication, rendered)


def test_publish_creates_terms_and_post_with_exact_requests(publication, wp):
    adapter, rendered, result = _publish(publication)

    sent = [(r.method, r.path, r.query) for r in wp.requests]
    assert sent == [
        ("GET", "/wp-json/wp/v2/categories", {"search": "News", "per_page": "100"}),
        ("POST", "/wp-json/wp/v2/categories", {}),
        ("GET", "/wp-json/wp/v2/tags", {"search": "Spring", "per_page": "100"}),
        ("POST", "/wp-json/wp/v2/tags", {}),
        ("GET", "/wp-json/wp/v2/tags", {"search": "Tips & Tricks", "per_page": "100"}),
        # As on a real WordPress: the search misses the escaped "Tips &amp; Tricks", and
        # creating it answers 400 term_exists with its id, which is reused.
        ("POST", "/wp-json/wp/v2/tags", {}),
        ("POST", "/wp-json/wp/v2/posts", {}),
    ]
    assert all(r.headers["authorization"] == AUTH for r in wp.requests)
    assert wp.requests[1].json() == {"name": "News"}
    post = wp.requests[-1].json()
    news_id = wp.terms["categories"][-1]["id"]
    spring_id = wp.terms["tags"][-1]["id"]
    assert post == {
        "title": "Spring sale, the guide",
        "content": rendered.html,
        "excerpt": "Plan it early.",
        "status": "publish",
        "slug": f"spring-sale-the-guide-ch{publication.idempotency_key.hex}",
        "categories": [news_id],
        "tags": [spring_id, 2],  # the existing "Tips &amp; Tricks" is reused, not duplicated
    }
    # Links are tracked: the original destination only appears inside our redirect.
    assert "https://shop.example.com/spring" not in post["content"]
    assert settings.SITE_BASE_URL + "/t/" in post["content"]
    assert result.external_id == str(wp.posts[0]["id"])
    assert result.url == wp.posts[0]["link"]


def test_featured_image_is_uploaded_and_attached(make_publication, blog, wp):
    from tests.factories import make_post

    page = make_post(blog, title="With a cover", cover_image=make_image())
    publication = make_publication(
        "blog/wordpress",
        settings={"base_url": wp.url, "username": "editor"},
        secrets={"application_password": "abcd efgh ijkl mnop"},
        page=page,
    )
    _adapter, _rendered, _result = _publish(publication)
    media_call = wp.calls("POST", "/wp-json/wp/v2/media")[0]
    assert media_call.headers["content-type"] == "image/png"
    assert media_call.headers["content-disposition"].startswith('attachment; filename="')
    assert media_call.body[:8] == b"\x89PNG\r\n\x1a\n"
    assert wp.calls("POST", "/wp-json/wp/v2/posts")[0].json()["featured_media"] == wp.media[0]["id"]


def test_wrong_application_password_is_permanent(make_publication, wp):
    publication = make_publication(
        "blog/wordpress",
        settings={"base_url": wp.url, "username": "editor"},
        secrets={"application_password": "wrong"},
    )
    adapter = publication.channel_account.get_adapter()
    error = publish_error(adapter.publish, publication, adapter.render(publication))
    assert error.permanent is True
    assert "401" in error.message
    assert wp.posts == []


def test_403_is_permanent(publication, wp):
    wp.faults.append(
        Reply(403, {"code": "rest_cannot_create", "message": "Sorry, you are not allowed"})
    )
    adapter = publication.channel_account.get_adapter()
    error = publish_error(adapter.publish, publication, adapter.render(publication))
    assert error.permanent is True and "403" in error.message


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_transient(publication, wp, status):
    wp.faults.append(Reply(status, "<html>upstream error</html>"))
    adapter = publication.channel_account.get_adapter()
    error = publish_error(adapter.publish, publication, adapter.render(publication))
    assert error.permanent is False
    # The first request (a term lookup) failed: nothing that creates a post went out.
    assert not isinstance(error, OutcomeUnknown)


def test_429_carries_retry_after(publication, wp):
    wp.faults.append(Reply(429, {"code": "too_many"}, {"Retry-After": "120"}))
    adapter = publication.channel_account.get_adapter()
    error = publish_error(adapter.publish, publication, adapter.render(publication))
    assert error.permanent is False
    assert error.retry_after == 120


@short_timeout
def test_timeout_is_transient(publication, wp):
    adapter = publication.channel_account.get_adapter()
    rendered = adapter.render(publication)
    wp.service.delay = 1.0
    error = publish_error(adapter.publish, publication, rendered)
    assert error.permanent is False and "in time" in error.message
    # The term lookup (a GET) timed out: nothing was created. A create that times out
    # is an unknown outcome (test_exactly_once, test_http).
    assert not isinstance(error, OutcomeUnknown)


def test_lost_response_then_find_existing_finds_the_post_and_nothing_is_posted_twice(
    publication, wp
):
    adapter = publication.channel_account.get_adapter()
    rendered = adapter.render(publication)
    wp.service.drop_after_create = True
    error = publish_error(adapter.publish, publication, rendered)
    assert isinstance(error, OutcomeUnknown)
    assert len(wp.posts) == 1  # it was created; we just never heard back

    wp.service.drop_after_create = False
    found = adapter.find_existing(publication)
    assert found is not None
    assert found.external_id == str(wp.posts[0]["id"])
    assert found.url == wp.posts[0]["link"]
    lookup = wp.calls("GET", "/wp-json/wp/v2/posts")[0]
    assert lookup.query["slug"] == post_slug("Spring sale, the guide", publication)
    assert len(wp.calls("POST", "/wp-json/wp/v2/posts")) == 1


def test_find_existing_by_marker_when_the_title_changed(publication, wp):
    adapter = publication.channel_account.get_adapter()
    _publish(publication)
    publication.title_override = "A new title after the fact"
    found = adapter.find_existing(publication)
    assert found is not None and found.external_id == str(wp.posts[0]["id"])
    by_slug, by_search = wp.calls("GET", "/wp-json/wp/v2/posts")[-2:]
    # The exact slug for the new title finds nothing; WordPress's search (title, excerpt,
    # content, never the slug) finds the content marker, in any status.
    assert by_slug.query["slug"] == post_slug("A new title after the fact", publication)
    assert by_search.query["search"] == key_marker(publication)
    assert by_search.query["status"] == "publish,future,draft,pending,private"
    assert f"<!-- {key_marker(publication)} -->" in wp.posts[0]["content"]
    assert slug_marker(publication) in wp.posts[0]["slug"]


def test_find_existing_returns_none_when_never_posted(publication, wp):
    assert publication.channel_account.get_adapter().find_existing(publication) is None


def test_validate_account(publication, wp):
    account = publication.channel_account
    account.get_adapter().validate_account(account)  # no error
    account.settings["category"] = "Does not exist"
    error = publish_error(account.get_adapter().validate_account, account)
    assert error.permanent and "Does not exist" in error.message
    account.secrets = {"application_password": "nope"}
    error = publish_error(account.get_adapter().validate_account, account)
    assert "401" in error.message


def test_a_non_internal_account_cannot_reach_loopback(make_publication, wp):
    publication = make_publication(
        "blog/wordpress",
        settings={"base_url": wp.url, "username": "editor"},
        secrets={"application_password": "abcd efgh ijkl mnop"},
        internal=False,
    )
    adapter = publication.channel_account.get_adapter()
    error = publish_error(adapter.publish, publication, adapter.render(publication))
    assert error.permanent is True
    assert "not a public address" in error.message
    assert wp.requests == []


def test_an_unreadable_answer_to_the_create_is_outcome_unknown(make_publication, wp):
    publication = make_publication(
        "blog/wordpress",
        settings={"base_url": wp.url, "username": "editor"},
        secrets={"application_password": "abcd efgh ijkl mnop"},
    )
    wp.faults.append(Reply(201, "<html>Cached by a proxy</html>", {"Content-Type": "text/html"}))
    adapter = publication.channel_account.get_adapter()
    error = publish_error(adapter.publish, publication, adapter.render(publication))
    assert isinstance(error, OutcomeUnknown) and "Cached by a proxy" in error.message


def test_find_existing_sees_drafts_and_private_posts(publication, wp):
    _publish(publication)
    wp.posts[0]["status"] = "private"  # someone made it private since
    found = publication.channel_account.get_adapter().find_existing(publication)
    assert found is not None and found.external_id == str(wp.posts[0]["id"])


def test_a_duplicate_slug_is_trashed_and_reported_as_already_published(publication, wp):
    adapter, _rendered, first = _publish(publication)
    error = publish_error(adapter.publish, publication, adapter.render(publication))
    assert isinstance(error, AlreadyPublished) and "trash" in error.message
    assert [p["id"] for p in wp.live_posts()] == [int(first.external_id)]
    (delete,) = wp.calls("DELETE")
    assert delete.path == f"/wp-json/wp/v2/posts/{wp.posts[1]['id']}"
    assert adapter.find_existing(publication).external_id == first.external_id
