"""The MetaWeblog XML-RPC API, as served by WordPress's xmlrpc.php, cnblogs and other
blog platforms (metaWeblog.newPost, newMediaObject, getRecentPosts).

Idempotency: MetaWeblog has no external id field, so the post body carries an HTML
comment marker with our idempotency key (and WordPress also gets it in `wp_slug`).
`find_existing` pages back through the blog's posts, newest first, until it meets the
marker or posts older than the publication's first attempt (`lookup_horizon`): with
`wp.getPosts` and an offset where the server has it (WordPress), else with
`metaWeblog.getRecentPosts` asking for ever more posts. So a busy blog that published
many posts after ours cannot push ours out of sight.

Categories: MetaWeblog servers silently drop a category they do not have and publish
anyway, so `publish` checks the category with `metaWeblog.getCategories` first and
refuses clearly; `check_publication` reports it before scheduling.
"""

from __future__ import annotations

import datetime
import mimetypes
import re
import xmlrpc.client
from xml.parsers.expat import ExpatError

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from channels.base import (
    AccountField,
    ChannelAdapter,
    FieldType,
    OutcomeUnknown,
    PublishError,
    PublishResult,
    Rendered,
    lookup_horizon,
    problems_from,
    publication_category,
)
from channels.blog import FEED_VERIFICATION_SETTINGS
from channels.http import client_for_account, send
from channels.render import render_html
from channels.render.html import insert_after_disclosure

# XML-RPC methods that create a post: a lost or unreadable answer to one of them leaves
# the outcome unknown. Every other call (reads, media uploads) creates no post.
POST_CREATING_METHODS = frozenset({"metaWeblog.newPost", "blogger.newPost", "wp.newPost"})
# metaWeblog.getRecentPosts has no offset: ask for more and more of the newest posts.
RECENT_POSTS_COUNTS = (20, 100, 300, 1000)
# wp.getPosts pages with an offset.
WP_POSTS_PAGE = 100
WP_POSTS_MAX_PAGES = 50
# dateCreated is in the blog's own time zone, which we do not know: no zone is further
# than 14 hours from UTC, so looking a day further back is always enough.
LOCAL_TIME_MARGIN = datetime.timedelta(days=1)


def key_marker(publication) -> str:
    return f"campaignhub:{publication.idempotency_key}"


class MetaWeblogAdapter(ChannelAdapter):
    kind = "blog/metaweblog"
    label = gettext_lazy("Blog: MetaWeblog (cnblogs…)")

    account_settings = (
        AccountField(
            "endpoint",
            gettext_lazy("XML-RPC endpoint"),
            FieldType.URL,
            help_text=gettext_lazy(
                "e.g. https://blog.example.com/xmlrpc.php or "
                "https://rpc.cnblogs.com/metaweblog/<your blog>"
            ),
            required=True,
        ),
        AccountField(
            "blog_id", gettext_lazy("Blog id"), required=True, default="1", max_length=100
        ),
        AccountField("username", gettext_lazy("User name"), required=True, max_length=100),
        AccountField(
            "category",
            gettext_lazy("Default category"),
            help_text=gettext_lazy("Optional. Used when a publication names none."),
            max_length=200,
        ),
        *FEED_VERIFICATION_SETTINGS,
    )
    account_secrets = (
        AccountField(
            "password",
            gettext_lazy("Password or access token"),
            FieldType.PASSWORD,
            help_text=gettext_lazy("cnblogs: the MetaWeblog access token from your blog settings."),
            required=True,
        ),
    )

    # --- XML-RPC over the guarded client -------------------------------------------
    def _credentials(self) -> tuple[str, str, str]:
        settings = self.account.settings
        username = settings.get("username", "")
        password = self.account.secrets.get("password", "")
        if not settings.get("endpoint") or not username or not password:
            raise PublishError(
                _("the account needs an endpoint, a user name and a password"), permanent=True
            )
        return str(settings.get("blog_id") or "1"), username, password

    def call(self, method: str, *params):
        """One XML-RPC call. Faults become PublishError (with `fault_code`): a 5xx-like
        fault code or a server error is transient, anything else (bad login, bad
        request) permanent. For a call that creates a post (POST_CREATING_METHODS), a
        timeout, a lost connection, a 5xx or an answer that is not XML-RPC raise
        OutcomeUnknown: the blog may have stored the post before the answer went wrong."""
        creates = method in POST_CREATING_METHODS
        body = xmlrpc.client.dumps(params, method, encoding="utf-8", allow_none=False)
        with client_for_account(self.account) as client:
            response = send(
                client,
                "POST",
                self.account.settings["endpoint"],
                may_create=creates,
                content=body.encode("utf-8"),
                headers={"Content-Type": "text/xml; charset=utf-8"},
            )
        try:
            (result,), _method = xmlrpc.client.loads(response.content, use_builtin_types=True)
        except xmlrpc.client.Fault as fault:
            code = fault.faultCode if isinstance(fault.faultCode, int) else 0
            error = PublishError(
                _("the blog refused %(method)s: %(code)s %(message)s")
                % {"method": method, "code": fault.faultCode, "message": fault.faultString},
                permanent=not (500 <= code < 600),
            )
            error.fault_code = fault.faultCode
            raise error from fault
        # ResponseError: well-formed XML that is not a methodResponse (an HTML page, a
        # login wall); ExpatError/ValueError: not XML at all.
        except (xmlrpc.client.ResponseError, ExpatError, ValueError) as exc:
            # ResponseError() has no text of its own: name what came back instead.
            detail = str(exc) or response.headers.get("content-type") or type(exc).__name__
            message = _("the endpoint did not answer with XML-RPC (%(error)s)") % {"error": detail}
            if creates:
                raise OutcomeUnknown(message) from exc
            raise PublishError(message, permanent=True) from exc
        return result

    # --- contract -------------------------------------------------------------------
    def render(self, publication) -> Rendered:
        rendered = render_html(publication.page, publication, flavour="metaweblog")
        rendered.html = f"<!-- {key_marker(publication)} -->\n{rendered.html}"
        return rendered

    def publish(self, publication, rendered: Rendered) -> PublishResult:
        blog_id, username, password = self._credentials()
        if rendered.category:
            # The server would drop an unknown category and publish anyway.
            missing = self._missing_category(rendered.category, blog_id, username, password)
            if missing:
                raise PublishError(missing, permanent=True)
        html = rendered.html
        if key_marker(publication) not in html:
            html = f"<!-- {key_marker(publication)} -->\n{html}"
        image_url = self._upload_cover(publication, blog_id, username, password)
        if image_url:
            # Inline (MetaWeblog has no featured image), but never above the disclosure.
            alt = publication.page.title.replace('"', "&quot;").replace("<", "&lt;")
            cover = f'<p><img src="{image_url}" alt="{alt}"></p>'
            html = insert_after_disclosure(html, publication.page.specific, cover)
        post = {
            "title": rendered.title,
            "description": html,
            "categories": [rendered.category] if rendered.category else [],
            "mt_keywords": ",".join(rendered.tags),
            "mt_excerpt": rendered.excerpt,
            "wp_slug": f"ch{publication.idempotency_key.hex}",
        }
        post_id = self.call("metaWeblog.newPost", blog_id, username, password, post, True)
        url = ""
        try:
            url = self.call("metaWeblog.getPost", str(post_id), username, password).get("link", "")
        except PublishError:
            pass  # the post exists; its URL is a nicety some platforms do not give
        return PublishResult(external_id=str(post_id), url=url)

    def find_existing(self, publication) -> PublishResult | None:
        """Page back through the blog's posts, newest first, to the first attempt's time
        (see the module doc). Raises a transient PublishError when the server will not
        show posts that far back, rather than answer "not there" without knowing."""
        credentials = self._credentials()
        horizon = lookup_horizon(publication).astimezone(datetime.UTC).replace(tzinfo=None)
        try:
            first = self._wp_posts_page(credentials, 0)
        except PublishError as exc:
            if getattr(exc, "fault_code", None) is None and not exc.permanent:
                raise  # a timeout or a 5xx: getRecentPosts would fare no better
            first = None  # no wp.getPosts here (cnblogs and most non-WordPress servers)
        if first is None:
            pages = self._recent_posts_pages(credentials)
        else:
            pages = self._wp_posts_pages(credentials, first)
        return _find_marked(pages, publication, horizon)

    def validate_account(self, account) -> None:
        self.account = account
        blog_id, username, password = self._credentials()
        blogs = self.call("blogger.getUsersBlogs", "", username, password)
        ids = {str(b.get("blogid")) for b in blogs or []}
        if ids and blog_id not in ids:
            raise PublishError(
                _("blog id %(id)s is not one of this user's blogs (%(ids)s)")
                % {"id": blog_id, "ids": ", ".join(sorted(ids))},
                permanent=True,
            )
        category = account.settings.get("category")
        missing = category and self._missing_category(category, blog_id, username, password)
        if missing:
            raise PublishError(missing, permanent=True)

    def check_publication(self, publication) -> list[str]:
        """The category must exist on the blog (MetaWeblog would drop it silently)."""
        category = publication_category(publication)
        if not category:
            return []

        def check():
            missing = self._missing_category(category, *self._credentials())
            return [missing] if missing else []

        return problems_from(check)

    # --- helpers --------------------------------------------------------------------
    def _missing_category(self, category, blog_id, username, password) -> str:
        """A sentence saying `category` is not on the blog, or "" when it is."""
        names = {
            c.get("title") or c.get("description")
            for c in self.call("metaWeblog.getCategories", blog_id, username, password) or []
        }
        if category in names:
            return ""
        return _(
            "category %(name)s does not exist on the blog (MetaWeblog would publish the "
            "post without it); existing categories: %(names)s"
        ) % {"name": category, "names": ", ".join(sorted(n for n in names if n)) or "-"}

    def _wp_posts_page(self, credentials, offset: int) -> tuple[list[dict], bool]:
        """One page of wp.getPosts (WordPress), newest first, as (posts, complete)."""
        blog_id, username, password = credentials
        query = {"number": WP_POSTS_PAGE, "offset": offset, "orderby": "date", "order": "DESC",
                 "post_type": "post", "post_status": "any"}  # fmt: skip
        posts = self.call("wp.getPosts", blog_id, username, password, query, ["post"]) or []
        return [_wp_post(p) for p in posts], len(posts) < WP_POSTS_PAGE

    def _wp_posts_pages(self, credentials, first):
        """`first` (the page at offset 0), then the following pages of wp.getPosts."""
        page = first
        yield page
        for number in range(1, WP_POSTS_MAX_PAGES):
            if page[1]:
                return
            page = self._wp_posts_page(credentials, number * WP_POSTS_PAGE)
            yield page

    def _recent_posts_pages(self, credentials):
        """Ever longer lists of the newest posts from metaWeblog.getRecentPosts, each
        as (posts, complete); `complete` says the blog has no more posts to show."""
        blog_id, username, password = credentials
        shown = -1
        for count in RECENT_POSTS_COUNTS:
            posts = self.call("metaWeblog.getRecentPosts", blog_id, username, password, count)
            posts = [_recent_post(p) for p in posts or []]
            if len(posts) < count and len(posts) <= shown:
                # Asked for more and got no more: the server caps the list. We cannot
                # tell its end from the end of the blog.
                raise _inconclusive()
            yield posts, len(posts) < count
            if len(posts) < count:
                return
            shown = len(posts)

    def _upload_cover(self, publication, blog_id, username, password) -> str:
        image = getattr(publication.page.specific, "cover_image", None)
        if image is None:
            return ""
        try:
            rendition = image.get_rendition("max-1600x1600")
            with rendition.file.open("rb") as fh:
                data = fh.read()
        except Exception as exc:  # noqa: BLE001
            raise PublishError(
                _("cannot read the cover image: %(error)s") % {"error": exc}, permanent=True
            ) from exc
        name = re.sub(r"[^A-Za-z0-9._-]", "_", rendition.file.name.rsplit("/", 1)[-1])
        media = {
            "name": f"{publication.idempotency_key.hex[:12]}-{name}",
            "type": mimetypes.guess_type(name)[0] or "application/octet-stream",
            "bits": xmlrpc.client.Binary(data),
        }
        result = self.call("metaWeblog.newMediaObject", blog_id, username, password, media)
        return (result or {}).get("url", "")


def _wp_post(post: dict) -> dict:
    return {
        "id": str(post.get("post_id", "")),
        "link": post.get("link") or "",
        "content": post.get("post_content") or "",
        "slug": post.get("post_name") or "",
        "utc": post.get("post_date_gmt"),
        "local": None,
    }


def _recent_post(post: dict) -> dict:
    return {
        "id": str(post.get("postid", "")),
        "link": post.get("link") or post.get("permaLink") or "",
        "content": post.get("description") or "",
        "slug": post.get("wp_slug") or "",
        "utc": post.get("date_created_gmt"),
        "local": post.get("dateCreated"),
    }


def _is_older(post: dict, horizon: datetime.datetime) -> bool:
    """Whether `post` surely predates `horizon` (naive UTC). A post without a readable
    date never counts as older: paging just goes on."""
    when, margin = post["utc"], datetime.timedelta(0)
    if not isinstance(when, datetime.datetime):
        when, margin = post["local"], LOCAL_TIME_MARGIN
    if not isinstance(when, datetime.datetime):
        return False
    if when.tzinfo is not None:
        when = when.astimezone(datetime.UTC).replace(tzinfo=None)
    return when + margin < horizon


def _find_marked(pages, publication, horizon) -> PublishResult | None:
    """Go through `pages` of posts (each a (posts, complete) pair, newest first) until
    our marked post, a post older than `horizon`, or the end of the blog."""
    marker = key_marker(publication)
    slug = f"ch{publication.idempotency_key.hex}"
    for posts, complete in pages:
        for post in posts:
            if marker in post["content"] or post["slug"] == slug:
                return PublishResult(external_id=post["id"], url=post["link"])
        if complete or any(_is_older(p, horizon) for p in posts):
            return None
    raise _inconclusive()


def _inconclusive() -> PublishError:
    return PublishError(
        _(
            "the blog does not show its posts back to the first attempt; cannot tell "
            "whether the post exists"
        ),
        permanent=False,
    )
