"""The MetaWeblog XML-RPC API, as served by WordPress's xmlrpc.php, cnblogs and other
blog platforms (metaWeblog.newPost, newMediaObject, getRecentPosts).

Idempotency: MetaWeblog has no external id field, so the post body carries an HTML
comment marker with our idempotency key (and WordPress also gets it in `wp_slug`).
`find_existing` scans the most recent posts for that marker.
"""

from __future__ import annotations

import mimetypes
import re
import xmlrpc.client
from xml.parsers.expat import ExpatError

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from channels.base import ChannelAdapter, PublishError, PublishResult, Rendered
from channels.http import client_for_account, send
from channels.render import render_html
from channels.verification import verification_settings_fields

RECENT_POSTS_TO_SCAN = 20


def key_marker(publication) -> str:
    return f"campaignhub:{publication.idempotency_key}"


class MetaWeblogAdapter(ChannelAdapter):
    kind = "blog/metaweblog"
    label = gettext_lazy("Blog: MetaWeblog (cnblogs…)")

    @classmethod
    def settings_fields(cls):
        return {
            "endpoint": forms.URLField(
                label=gettext_lazy("XML-RPC endpoint"),
                help_text=gettext_lazy(
                    "e.g. https://blog.example.com/xmlrpc.php or "
                    "https://rpc.cnblogs.com/metaweblog/<your blog>"
                ),
            ),
            "blog_id": forms.CharField(label=gettext_lazy("Blog id"), max_length=100, initial="1"),
            "username": forms.CharField(label=gettext_lazy("User name"), max_length=100),
            "category": forms.CharField(
                label=gettext_lazy("Default category"), required=False, max_length=200
            ),
            **verification_settings_fields(),
        }

    @classmethod
    def secret_fields(cls):
        return {
            "password": forms.CharField(
                label=gettext_lazy("Password or access token"),
                help_text=gettext_lazy(
                    "cnblogs: the MetaWeblog access token from your blog settings."
                ),
            )
        }

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
        """One XML-RPC call. Faults become PublishError: a 5xx-like fault code or
        a server error is transient, anything else (bad login, bad request) permanent."""
        body = xmlrpc.client.dumps(params, method, encoding="utf-8", allow_none=False)
        with client_for_account(self.account) as client:
            response = send(
                client,
                "POST",
                self.account.settings["endpoint"],
                content=body.encode("utf-8"),
                headers={"Content-Type": "text/xml; charset=utf-8"},
            )
        try:
            (result,), _method = xmlrpc.client.loads(response.content, use_builtin_types=True)
        except xmlrpc.client.Fault as fault:
            code = fault.faultCode if isinstance(fault.faultCode, int) else 0
            raise PublishError(
                _("the blog refused %(method)s: %(code)s %(message)s")
                % {"method": method, "code": fault.faultCode, "message": fault.faultString},
                permanent=not (500 <= code < 600),
            ) from fault
        # ResponseError: well-formed XML that is not a methodResponse (an HTML page, a
        # login wall); ExpatError/ValueError: not XML at all.
        except (xmlrpc.client.ResponseError, ExpatError, ValueError) as exc:
            # ResponseError() has no text of its own: name what came back instead.
            detail = str(exc) or response.headers.get("content-type") or type(exc).__name__
            raise PublishError(
                _("the endpoint did not answer with XML-RPC (%(error)s)") % {"error": detail},
                permanent=True,
            ) from exc
        return result

    # --- contract -------------------------------------------------------------------
    def render(self, publication) -> Rendered:
        rendered = render_html(publication.page, publication, flavour="metaweblog")
        rendered.html = f"<!-- {key_marker(publication)} -->\n{rendered.html}"
        return rendered

    def publish(self, publication, rendered: Rendered) -> PublishResult:
        blog_id, username, password = self._credentials()
        html = rendered.html
        if key_marker(publication) not in html:
            html = f"<!-- {key_marker(publication)} -->\n{html}"
        image_url = self._upload_cover(publication, blog_id, username, password)
        if image_url:
            alt = publication.page.title.replace('"', "&quot;").replace("<", "&lt;")
            html = f'<p><img src="{image_url}" alt="{alt}"></p>\n{html}'
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
        blog_id, username, password = self._credentials()
        posts = self.call(
            "metaWeblog.getRecentPosts", blog_id, username, password, RECENT_POSTS_TO_SCAN
        )
        marker = key_marker(publication)
        slug = f"ch{publication.idempotency_key.hex}"
        for post in posts or []:
            if marker in (post.get("description") or "") or post.get("wp_slug") == slug:
                return PublishResult(
                    external_id=str(post.get("postid", "")),
                    url=post.get("link") or post.get("permaLink") or "",
                )
        return None

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
        if category:
            names = {
                c.get("title") or c.get("description")
                for c in self.call("metaWeblog.getCategories", blog_id, username, password)
            }
            if category not in names:
                raise PublishError(
                    _("category %(name)s does not exist on the blog") % {"name": category},
                    permanent=True,
                )

    # --- helpers --------------------------------------------------------------------
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
