"""The WordPress (REST) and MetaWeblog (XML-RPC) adapters against a REAL WordPress:
Debian's package on PHP's built-in server and the local MariaDB (tests/peers/wordpress.py),
driven through the real publish service.

The fakes in test_wordpress.py and test_metaweblog.py pin down the requests we send;
these show that WordPress itself takes them: the application password over REST and
XML-RPC, terms, media, our HTML kept as sent, exactly one post per publication. Under
CI a missing or broken WordPress fails them; elsewhere they skip with the reason.

The install is shared by the whole session (and reused across runs), so every test
puts a unique token in its titles and finds its posts by that token.
"""

import contextlib
import html as html_lib
import itertools
import re
import uuid

import pytest
from django.conf import settings

from analytics.models import TrackedLink
from campaigns.models import Publication
from campaigns.services import publish_publication
from channels.blog.metaweblog import key_marker
from channels.blog.wordpress import key_marker as wordpress_key_marker
from channels.blog.wordpress import slug_marker
from tests.conftest import missing_service
from tests.factories import make_soft_article
from tests.peers.dropping_proxy import AnswerDroppingProxy
from tests.peers.wordpress import PeerUnavailable, WordPressPeer, running_wordpress

from .helpers import make_image

pytestmark = pytest.mark.django_db

SPONSOR_URL = "https://acme.example.com/blender"


@pytest.fixture(scope="session")
def real_wordpress():
    """The running test WordPress (started once per session, stopped at its end)."""
    with contextlib.ExitStack() as stack:
        try:
            peer = stack.enter_context(running_wordpress())
        except PeerUnavailable as exc:
            missing_service(f"a real WordPress ({exc})")
        yield peer


@pytest.fixture
def token() -> str:
    return uuid.uuid4().hex[:12]


def _account(kind: str, peer: WordPressPeer, base_url: str | None = None):
    """(settings, secrets) of a channel account on the real site, optionally through a
    proxy at `base_url`. XML-RPC takes the application password as well."""
    base = base_url or peer.base_url
    if kind == "blog/wordpress":
        return {"base_url": base, "username": peer.username}, {
            "application_password": peer.application_password
        }
    return {"endpoint": f"{base}/xmlrpc.php", "blog_id": "1", "username": peer.username}, {
        "password": peer.application_password
    }


@pytest.fixture
def soft_publication(make_publication, blog, real_wordpress, token):
    """make_soft_publication(kind, label, base_url=None, **publication fields): a soft
    article with a cover image, its tracked sponsor link, a category and two tags."""
    pages = itertools.count()

    def make(kind, label, base_url=None, **fields):
        page = make_soft_article(
            blog,
            title=f"Our partner's blender {token}",
            slug=f"partner-blender-{token}-{next(pages)}",
            disclosure_label=label,
            cover_image=make_image(),
        )
        account_settings, secrets = _account(kind, real_wordpress, base_url)
        fields = {
            "tags": f"Kitchen, Launch {token}",
            "forum_category": "News",
            "excerpt_override": "It blends, and we say who paid.",
            **fields,
        }
        return make_publication(
            kind, settings=account_settings, secrets=secrets, page=page, **fields
        )

    return make


def publish(publication) -> str:
    """One attempt through the publish service, as the dispatcher would start it."""
    Publication.objects.filter(pk=publication.pk).update(status=Publication.Status.QUEUED)
    outcome = publish_publication(publication.pk)
    publication.refresh_from_db()
    return outcome


def sent(publication):
    """What the adapter sent: rendering is deterministic (tracked links are get-or-create),
    so rendering again gives the same title, HTML, excerpt and terms."""
    return publication.channel_account.get_adapter().render(publication)


def posts_with(peer: WordPressPeer, token: str) -> list[dict]:
    """Every post on the site (any status) whose text holds `token`."""
    with peer.rest() as api:
        answer = api.get(
            "posts",
            params={"search": token, "status": "any", "context": "edit", "per_page": 100},
        )
    answer.raise_for_status()
    return answer.json()


def the_one_post(peer: WordPressPeer, token: str) -> dict:
    posts = posts_with(peer, token)
    assert len(posts) == 1, [(p["id"], p["title"]["raw"]) for p in posts]
    return posts[0]


def term_names(peer: WordPressPeer, taxonomy: str, ids: list[int]) -> set[str]:
    with peer.rest() as api:
        names = {html_lib.unescape(api.get(f"{taxonomy}/{i}").json()["name"]) for i in ids}
    return names


def ensure_category(peer: WordPressPeer, name: str) -> None:
    """MetaWeblog files a post only under categories that exist (it ignores the others)."""
    with peer.rest() as api:
        answer = api.post("categories", json={"name": name})
    assert answer.status_code == 201 or answer.json().get("code") == "term_exists", answer.text


def rendition_bytes(publication) -> bytes:
    rendition = publication.page.specific.cover_image.get_rendition("max-1600x1600")
    with rendition.file.open("rb") as fh:
        return fh.read()


def assert_tracked_links(publication, content: str) -> None:
    """The sponsor link went out as our /t/<code> link, and only as that."""
    own = re.escape(settings.SITE_BASE_URL.rstrip("/") + "/t/")
    codes = set(re.findall(own + r"([A-Za-z0-9_-]+)", content))
    links = TrackedLink.objects.filter(publication=publication)
    assert codes and codes == set(links.values_list("code", flat=True))
    assert {link.original_url for link in links} == {SPONSOR_URL}
    assert SPONSOR_URL not in content


def test_publish_through_rest_makes_exactly_one_post_as_sent(
    soft_publication, real_wordpress, token
):
    publication = soft_publication("blog/wordpress", "Sponsored")

    assert publish(publication) == "published"

    rendered = sent(publication)
    post = the_one_post(real_wordpress, token)
    assert str(post["id"]) == publication.external_id
    assert post["link"] == publication.public_url
    assert post["status"] == "publish"
    assert post["slug"].endswith(slug_marker(publication))
    assert post["title"]["raw"] == rendered.title == f"Our partner's blender {token}"
    assert post["content"]["raw"] == rendered.html
    # The lookup marker (an HTML comment, invisible) and then the disclosure, first.
    assert post["content"]["raw"].startswith(
        f"<!-- {wordpress_key_marker(publication)} -->\n"
        "<p><strong>Sponsored</strong> · Paid for by Acme Kitchens</p>"
    )
    # WordPress shows the excerpt apart from the post (its RSS, archives): labelled too.
    assert post["excerpt"]["raw"] == "[Sponsored] It blends, and we say who paid."
    assert_tracked_links(publication, post["content"]["raw"])
    assert term_names(real_wordpress, "categories", post["categories"]) == {"News"}
    assert term_names(real_wordpress, "tags", post["tags"]) == {"Kitchen", f"Launch {token}"}
    with real_wordpress.rest() as api:
        media = api.get(f"media/{post['featured_media']}", params={"context": "edit"}).json()
        assert media["mime_type"] == "image/png"
        assert api.get(media["source_url"]).content == rendition_bytes(publication)


def test_publish_through_xmlrpc_makes_exactly_one_post_as_sent(
    soft_publication, real_wordpress, token
):
    ensure_category(real_wordpress, "News")
    publication = soft_publication("blog/metaweblog", "广告")

    assert publish(publication) == "published"

    rendered = sent(publication)
    post = the_one_post(real_wordpress, token)
    assert str(post["id"]) == publication.external_id
    assert post["link"] == publication.public_url
    assert post["status"] == "publish"
    assert post["slug"] == f"ch{publication.idempotency_key.hex}"
    assert post["title"]["raw"] == rendered.title
    content = post["content"]["raw"]
    # What we rendered: the key marker, then the disclosure, then the body; the cover
    # goes inline (MetaWeblog has no featured image), right after the disclosure.
    disclosure = "<p><strong>广告</strong> · Paid for by Acme Kitchens</p>"
    head = f"<!-- {key_marker(publication)} -->\n{disclosure}"
    assert rendered.html.startswith(head)
    image = re.match(re.escape(head) + r'\n<p><img src="([^"]+)" alt="[^"]*"></p>', content)
    assert image, content[:300]
    assert head + content[image.end() :] == rendered.html
    assert image[1].startswith(f"{real_wordpress.base_url}/wp-content/uploads/")
    with real_wordpress.rest() as api:
        assert api.get(image[1]).content == rendition_bytes(publication)
    assert post["excerpt"]["raw"] == "[广告] It blends, and we say who paid."
    assert_tracked_links(publication, content)
    assert term_names(real_wordpress, "categories", post["categories"]) == {"News"}
    assert term_names(real_wordpress, "tags", post["tags"]) == {"Kitchen", f"Launch {token}"}


@pytest.mark.parametrize("kind", ["blog/wordpress", "blog/metaweblog"])
def test_an_attempt_after_an_unknown_outcome_finds_the_post_instead_of_posting_again(
    soft_publication, real_wordpress, token, kind
):
    ensure_category(real_wordpress, "News")
    publication = soft_publication(kind, "Sponsored")
    assert publish(publication) == "published"
    first_id = publication.external_id
    # As after a lost answer: the next attempt must ask WordPress first.
    Publication.objects.filter(pk=publication.pk).update(needs_lookup=True)

    assert publish(publication) == "found"

    post = the_one_post(real_wordpress, token)
    assert str(post["id"]) == publication.external_id == first_id


def test_an_existing_tag_with_an_ampersand_is_reused(soft_publication, real_wordpress, token):
    tag = f"Tips & Tricks {token}"
    first = soft_publication("blog/wordpress", "Sponsored", tags=tag)
    second = soft_publication("blog/wordpress", "Sponsored", tags=tag)

    assert publish(first) == "published"
    assert publish(second) == "published"

    posts = posts_with(real_wordpress, token)
    assert len(posts) == 2
    assert posts[0]["tags"] == posts[1]["tags"]
    assert term_names(real_wordpress, "tags", posts[0]["tags"]) == {tag}


def _creates_the_post(kind: str):
    """Which request makes the post: the one whose answer the proxy loses."""
    if kind == "blog/wordpress":
        return lambda request: request.startswith(b"POST /wp-json/wp/v2/posts ")
    return lambda request: b"<methodName>metaWeblog.newPost</methodName>" in request


@pytest.mark.parametrize("kind", ["blog/wordpress", "blog/metaweblog"])
def test_lost_answer_and_a_new_title_still_make_exactly_one_post(
    soft_publication, real_wordpress, token, kind
):
    ensure_category(real_wordpress, "News")
    port = int(real_wordpress.base_url.rpartition(":")[2])
    with AnswerDroppingProxy(port, _creates_the_post(kind)) as proxy:
        publication = soft_publication(
            kind, "Sponsored", base_url=proxy.url, title_override=f"First title {token}"
        )
        assert publish(publication) in ("retry", "unknown")
        assert proxy.dropped_answers, "the create call never went through the proxy"
        assert len(posts_with(real_wordpress, token)) == 1  # made; we never heard back

        Publication.objects.filter(pk=publication.pk).update(
            title_override=f"A better title {token}"
        )
        assert publish(publication) in ("published", "found")

    post = the_one_post(real_wordpress, token)
    assert str(post["id"]) == publication.external_id
