"""MetaWeblog adapter against a loopback XML-RPC server (what cnblogs serves)."""

import datetime
import xmlrpc.client

import pytest

from channels.base import OutcomeUnknown
from channels.blog.metaweblog import key_marker

from .fakes import FakeMetaWeblog
from .helpers import make_image, publish_error, short_timeout

pytestmark = pytest.mark.django_db


@pytest.fixture
def blog_server(loopback):
    return loopback(FakeMetaWeblog())


@pytest.fixture
def publication(make_publication, blog_server):
    return make_publication(
        "blog/metaweblog",
        settings={"endpoint": blog_server.url, "blog_id": "42", "username": "writer"},
        secrets={"password": "token-1"},
        tags="spring,sale",
        forum_category="News",
        excerpt_override="Short version.",
    )


def test_new_post_with_exact_arguments(publication, blog_server):
    adapter = publication.channel_account.get_adapter()
    rendered = adapter.render(publication)
    result = adapter.publish(publication, rendered)

    # The category is checked first: MetaWeblog servers drop unknown ones silently.
    assert blog_server.rpc_calls[0] == ("metaWeblog.getCategories", "writer", "token-1", "42")
    method, username, password, blogid, struct, publish = blog_server.rpc_calls[1]
    assert (method, username, password, blogid, publish) == (
        "metaWeblog.newPost", "writer", "token-1", "42", True,
    )  # fmt: skip
    assert struct == {
        "title": "Spring sale guide",
        "description": rendered.html,
        "categories": ["News"],
        "mt_keywords": "spring,sale",
        "mt_excerpt": "Short version.",
        "wp_slug": f"ch{publication.idempotency_key.hex}",
    }
    assert f"<!-- {key_marker(publication)} -->" in struct["description"]
    assert "shop.example.com" not in struct["description"]
    assert blog_server.rpc_calls[2][:4] == ("metaWeblog.getPost", "writer", "token-1", "1")
    assert result.external_id == "1"
    assert result.url == "https://blog.example.com/p/1.html"


def test_cover_image_goes_through_new_media_object(make_publication, blog, blog_server):
    from tests.factories import make_post

    publication = make_publication(
        "blog/metaweblog",
        settings={"endpoint": blog_server.url, "blog_id": "42", "username": "writer"},
        secrets={"password": "token-1"},
        page=make_post(blog, title="Covered", cover_image=make_image()),
    )
    adapter = publication.channel_account.get_adapter()
    adapter.publish(publication, adapter.render(publication))
    assert blog_server.rpc_calls[0][0] == "metaWeblog.newMediaObject"
    assert blog_server.rpc_calls[0][5] == "image/png"
    bits = blog_server.media[0]["bits"]
    assert getattr(bits, "data", bits)[:4] == b"\x89PNG"
    assert '<img src="https://img.example.com/' in blog_server.posts[0]["description"]


def test_bad_password_fault_is_permanent(make_publication, blog_server):
    publication = make_publication(
        "blog/metaweblog",
        settings={"endpoint": blog_server.url, "blog_id": "42", "username": "writer"},
        secrets={"password": "wrong"},
    )
    adapter = publication.channel_account.get_adapter()
    error = publish_error(adapter.publish, publication, adapter.render(publication))
    assert error.permanent and "Incorrect username or password" in error.message
    assert blog_server.posts == []


def test_server_error_fault_is_transient(publication, blog_server):
    blog_server.service.fault = xmlrpc.client.Fault(500, "Sorry, your entry could not be posted.")
    blog_server.service.fault_method = "metaWeblog.newPost"
    adapter = publication.channel_account.get_adapter()
    error = publish_error(adapter.publish, publication, adapter.render(publication))
    # A fault is the blog's answer: it refused, so nothing was created (not "unknown").
    assert error.permanent is False and not isinstance(error, OutcomeUnknown)
    assert "could not be posted" in error.message


@short_timeout
def test_timeout_is_transient(publication, blog_server):
    adapter = publication.channel_account.get_adapter()
    rendered = adapter.render(publication)
    blog_server.service.delay = 1.0
    assert publish_error(adapter.publish, publication, rendered).permanent is False


def test_lost_response_then_get_recent_posts_finds_it(publication, blog_server):
    adapter = publication.channel_account.get_adapter()
    rendered = adapter.render(publication)
    blog_server.service.drop_after_create = True
    assert publish_error(adapter.publish, publication, rendered).permanent is False
    blog_server.service.drop_after_create = False
    assert len(blog_server.posts) == 1

    found = adapter.find_existing(publication)
    assert found is not None and found.external_id == "1"
    assert ("metaWeblog.getRecentPosts", "writer", "token-1", "42", 20) in blog_server.rpc_calls
    assert sum(1 for c in blog_server.rpc_calls if c[0] == "metaWeblog.newPost") == 1


def test_find_existing_ignores_other_posts(publication, make_publication, blog, blog_server):
    from tests.factories import make_post

    # Another page: two pages under one parent cannot share the default slug.
    other = make_publication(
        "blog/metaweblog",
        settings={"endpoint": blog_server.url, "blog_id": "42", "username": "writer"},
        secrets={"password": "token-1"},
        page=make_post(blog, title="Autumn sale guide"),
    )
    adapter = other.channel_account.get_adapter()
    adapter.publish(other, adapter.render(other))
    assert publication.channel_account.get_adapter().find_existing(publication) is None


def test_validate_account(publication, blog_server):
    account = publication.channel_account
    account.get_adapter().validate_account(account)
    account.settings["blog_id"] = "7"
    error = publish_error(account.get_adapter().validate_account, account)
    assert error.permanent and "42" in error.message
    account.settings.update(blog_id="42", category="Missing")
    error = publish_error(account.get_adapter().validate_account, account)
    assert "Missing" in error.message


def test_non_xmlrpc_answer_is_a_clear_error(make_publication, loopback):
    from .loopback import FakeService, Reply

    class NotABlog(FakeService):
        def handle(self, request):
            return Reply(200, "<html>hello</html>", {"Content-Type": "text/html"})

    server = loopback(NotABlog())
    publication = make_publication(
        "blog/metaweblog",
        settings={"endpoint": server.url, "username": "writer"},
        secrets={"password": "x"},
    )
    adapter = publication.channel_account.get_adapter()
    error = publish_error(adapter.publish, publication, adapter.render(publication))
    # newPost went out: an unreadable answer may hide a stored post.
    assert isinstance(error, OutcomeUnknown) and "XML-RPC" in error.message
    # The lookup then says clearly that this is no XML-RPC endpoint (permanent).
    error = publish_error(adapter.find_existing, publication)
    assert error.permanent and "XML-RPC" in error.message


def test_an_unknown_category_is_refused_before_posting(publication, blog_server):
    publication.forum_category = "Not a category"
    adapter = publication.channel_account.get_adapter()
    error = publish_error(adapter.publish, publication, adapter.render(publication))
    assert error.permanent and "Not a category" in error.message and "News" in error.message
    assert not any(c[0] == "metaWeblog.newPost" for c in blog_server.rpc_calls)


def test_check_publication_reports_the_category(publication, blog_server):
    adapter = publication.channel_account.get_adapter()
    assert adapter.check_publication(publication) == []
    publication.forum_category = "Missing"
    (problem,) = adapter.check_publication(publication)
    assert "Missing" in problem and "News, [Markdown]" in problem
    publication.channel_account.secrets = {"password": "wrong"}
    (problem,) = adapter.check_publication(publication)
    assert "Incorrect username or password" in problem


def days_ago(days):
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None) - datetime.timedelta(days=days)


def test_find_existing_stops_at_posts_older_than_the_first_attempt(publication, blog_server):
    for n in range(500):
        blog_server.service.add_post(f"Old {n}", when=days_ago(3))
    assert publication.channel_account.get_adapter().find_existing(publication) is None
    asked = [c[-1] for c in blog_server.rpc_calls if c[0] == "metaWeblog.getRecentPosts"]
    assert asked == [20]


def test_find_existing_asks_for_more_posts_until_it_finds_ours(publication, blog_server):
    adapter = publication.channel_account.get_adapter()
    adapter.publish(publication, adapter.render(publication))
    for n in range(150):
        blog_server.service.add_post(f"Newer {n}")
    assert adapter.find_existing(publication).external_id == "1"
    asked = [c[-1] for c in blog_server.rpc_calls if c[0] == "metaWeblog.getRecentPosts"]
    assert asked == [20, 100, 300]


def test_find_existing_cannot_tell_when_the_server_caps_the_list(publication, blog_server):
    blog_server.service.recent_cap = 100
    adapter = publication.channel_account.get_adapter()
    adapter.publish(publication, adapter.render(publication))
    for n in range(150):
        blog_server.service.add_post(f"Newer {n}")
    error = publish_error(adapter.find_existing, publication)
    assert error.permanent is False and "first attempt" in error.message


def test_find_existing_pages_with_wp_get_posts_where_available(make_publication, loopback):
    server = loopback(FakeMetaWeblog(wordpress=True))
    publication = make_publication(
        "blog/metaweblog",
        settings={"endpoint": server.url, "blog_id": "42", "username": "writer"},
        secrets={"password": "token-1"},
    )
    adapter = publication.channel_account.get_adapter()
    adapter.publish(publication, adapter.render(publication))
    for n in range(250):
        server.service.add_post(f"Newer {n}")
    assert adapter.find_existing(publication).external_id == "1"
    offsets = [c[-1]["offset"] for c in server.rpc_calls if c[0] == "wp.getPosts"]
    assert offsets == [0, 100, 200]
    assert not any(c[0] == "metaWeblog.getRecentPosts" for c in server.rpc_calls)
