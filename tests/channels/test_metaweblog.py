"""MetaWeblog adapter against a real XML-RPC server (xmlrpc.server) on loopback."""

import threading
import time
import xmlrpc.client
from xmlrpc.server import SimpleXMLRPCRequestHandler, SimpleXMLRPCServer

import pytest

from channels.blog.metaweblog import key_marker

from .helpers import make_image, publish_error, short_timeout

pytestmark = pytest.mark.django_db


class Blog:
    """What cnblogs / WordPress xmlrpc.php serve, in memory."""

    def __init__(self):
        self.posts, self.media, self.calls = [], [], []
        self.fault = None
        self.delay = 0.0
        self.drop_after_create = False
        self.dropped = False

    def check(self, method, username, password, *rest):
        self.calls.append((method, username, password, *rest))
        if self.delay:
            time.sleep(self.delay)
        if self.fault:
            fault, self.fault = self.fault, None
            raise fault
        if (username, password) != ("writer", "token-1"):
            raise xmlrpc.client.Fault(403, "Incorrect username or password.")

    def new_post(self, blogid, username, password, struct, publish):
        self.check("metaWeblog.newPost", username, password, blogid, struct, publish)
        postid = str(len(self.posts) + 1)
        self.posts.append(
            {"postid": postid, "link": f"https://blog.example.com/p/{postid}.html", **struct}
        )
        self.dropped = self.drop_after_create
        return postid

    def get_post(self, postid, username, password):
        self.check("metaWeblog.getPost", username, password, postid)
        return next(p for p in self.posts if p["postid"] == postid)

    def new_media_object(self, blogid, username, password, media):
        self.check(
            "metaWeblog.newMediaObject", username, password, blogid, media["name"], media["type"]
        )
        self.media.append(media)
        return {"url": f"https://img.example.com/{media['name']}"}

    def get_recent_posts(self, blogid, username, password, count):
        self.check("metaWeblog.getRecentPosts", username, password, blogid, count)
        return list(reversed(self.posts))[:count]

    def get_users_blogs(self, appkey, username, password):
        self.check("blogger.getUsersBlogs", username, password)
        return [{"blogid": "42", "url": "https://blog.example.com/", "blogName": "Demo"}]

    def get_categories(self, blogid, username, password):
        self.check("metaWeblog.getCategories", username, password, blogid)
        return [{"title": "[Markdown]"}, {"title": "News"}]


class Dropped(BaseException):
    """Not an Exception, so SimpleXMLRPCRequestHandler does not turn it into a 500."""


class DroppingHandler(SimpleXMLRPCRequestHandler):
    rpc_paths = ("/xmlrpc",)

    def do_POST(self):
        try:
            super().do_POST()
        except Dropped:
            self.close_connection = True  # the post exists; the answer never leaves


class BlogServer(SimpleXMLRPCServer):
    def _marshaled_dispatch(self, data, dispatch_method=None, path=None):
        response = super()._marshaled_dispatch(data, dispatch_method, path)
        if self.blog.dropped:
            self.blog.dropped = False
            raise Dropped
        return response


@pytest.fixture
def blog_server():
    blog = Blog()
    server = BlogServer(("127.0.0.1", 0), requestHandler=DroppingHandler, logRequests=False)
    server.blog = blog
    server.register_function(blog.new_post, "metaWeblog.newPost")
    server.register_function(blog.get_post, "metaWeblog.getPost")
    server.register_function(blog.new_media_object, "metaWeblog.newMediaObject")
    server.register_function(blog.get_recent_posts, "metaWeblog.getRecentPosts")
    server.register_function(blog.get_users_blogs, "blogger.getUsersBlogs")
    server.register_function(blog.get_categories, "metaWeblog.getCategories")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    blog.url = f"http://127.0.0.1:{server.server_address[1]}/xmlrpc"
    yield blog
    server.shutdown()
    server.server_close()


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

    method, username, password, blogid, struct, publish = blog_server.calls[0]
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
    assert blog_server.calls[1][:4] == ("metaWeblog.getPost", "writer", "token-1", "1")
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
    assert blog_server.calls[0][0] == "metaWeblog.newMediaObject"
    assert blog_server.calls[0][5] == "image/png"
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
    blog_server.fault = xmlrpc.client.Fault(500, "Sorry, your entry could not be posted.")
    adapter = publication.channel_account.get_adapter()
    assert (
        publish_error(adapter.publish, publication, adapter.render(publication)).permanent is False
    )


@short_timeout
def test_timeout_is_transient(publication, blog_server):
    adapter = publication.channel_account.get_adapter()
    rendered = adapter.render(publication)
    blog_server.delay = 1.0
    assert publish_error(adapter.publish, publication, rendered).permanent is False


def test_lost_response_then_get_recent_posts_finds_it(publication, blog_server):
    adapter = publication.channel_account.get_adapter()
    rendered = adapter.render(publication)
    blog_server.drop_after_create = True
    assert publish_error(adapter.publish, publication, rendered).permanent is False
    blog_server.drop_after_create = False
    assert len(blog_server.posts) == 1

    found = adapter.find_existing(publication)
    assert found is not None and found.external_id == "1"
    assert ("metaWeblog.getRecentPosts", "writer", "token-1", "42", 20) in blog_server.calls
    assert sum(1 for c in blog_server.calls if c[0] == "metaWeblog.newPost") == 1


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
    assert error.permanent and "XML-RPC" in error.message
