"""WordPress REST API (wp-json/wp/v2) with an application password.

Idempotency: the post slug ends with our idempotency key ("<title>-ch<key hex>"), a
marker WordPress keeps as long as nobody edits the slug, and `find_existing` asks for
exactly that slug. When the site registers a post meta key for it (settings
`meta_key`, e.g. with `register_post_meta(..., show_in_rest=true)`), the key is stored
there as well.
"""

from __future__ import annotations

import html as html_lib
import mimetypes
import re

from django import forms
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from channels.base import ChannelAdapter, PublishError, PublishResult, Rendered
from channels.http import client_for_account, send
from channels.render import render_html
from channels.verification import verification_settings_fields


def slug_marker(publication) -> str:
    return f"ch{publication.idempotency_key.hex}"


def post_slug(title: str, publication) -> str:
    base = slugify(title)[:60].strip("-")
    return f"{base}-{slug_marker(publication)}" if base else slug_marker(publication)


def _json(response) -> object:
    try:
        return response.json()
    except ValueError as exc:
        raise PublishError(
            _("the site did not answer with JSON (is the base URL the WordPress site root?)"),
            permanent=True,
        ) from exc


class WordPressAdapter(ChannelAdapter):
    kind = "blog/wordpress"
    label = gettext_lazy("Blog: WordPress")

    @classmethod
    def settings_fields(cls):
        return {
            "base_url": forms.URLField(
                label=gettext_lazy("Site URL"),
                help_text=gettext_lazy("The WordPress site root, e.g. https://blog.example.com"),
            ),
            "username": forms.CharField(label=gettext_lazy("User name"), max_length=100),
            "category": forms.CharField(
                label=gettext_lazy("Default category"), required=False, max_length=200
            ),
            "meta_key": forms.CharField(
                label=gettext_lazy("Post meta key for our idempotency key (optional)"),
                required=False,
                max_length=100,
            ),
            **verification_settings_fields(),
        }

    @classmethod
    def secret_fields(cls):
        return {
            "application_password": forms.CharField(
                label=gettext_lazy("Application password"),
                help_text=gettext_lazy("Users → Profile → Application Passwords in WordPress."),
            )
        }

    # --- plumbing -------------------------------------------------------------------
    def _api(self, path: str) -> str:
        base = (self.account.settings.get("base_url") or "").rstrip("/")
        if not base:
            raise PublishError(_("the account has no site URL"), permanent=True)
        return f"{base}/wp-json/wp/v2/{path.lstrip('/')}"

    def _client(self):
        username = self.account.settings.get("username", "")
        password = self.account.secrets.get("application_password", "")
        if not username or not password:
            raise PublishError(
                _("the account has no user name or application password"), permanent=True
            )
        # Application passwords are shown with spaces; WordPress accepts them either way.
        return client_for_account(self.account, auth=(username, password))

    # --- contract -------------------------------------------------------------------
    def render(self, publication) -> Rendered:
        return render_html(publication.page, publication, flavour="wordpress")

    def publish(self, publication, rendered: Rendered) -> PublishResult:
        with self._client() as client:
            category_names = [rendered.category] if rendered.category else []
            payload = {
                "title": rendered.title,
                "content": rendered.html,
                "excerpt": rendered.excerpt,
                "status": "publish",
                "slug": post_slug(rendered.title, publication),
                "categories": [self._term_id(client, "categories", n) for n in category_names],
                "tags": [self._term_id(client, "tags", n) for n in rendered.tags],
            }
            meta_key = self.account.settings.get("meta_key")
            if meta_key:
                payload["meta"] = {meta_key: str(publication.idempotency_key)}
            media_id = self._upload_featured_image(client, publication)
            if media_id:
                payload["featured_media"] = media_id
            response = send(client, "POST", self._api("posts"), json=payload)
            post = _json(response)
        return PublishResult(external_id=str(post["id"]), url=post.get("link", ""))

    def find_existing(self, publication) -> PublishResult | None:
        with self._client() as client:
            response = send(
                client,
                "GET",
                self._api("posts"),
                params={
                    "slug": post_slug(self._title(publication), publication),
                    "status": "publish,future,draft,pending,private",
                    "context": "edit",
                },
            )
            posts = _json(response)
            if not posts:
                # The title (and so the slug prefix) may have changed since the post was
                # made; search for the marker itself.
                response = send(
                    client,
                    "GET",
                    self._api("posts"),
                    params={"search": slug_marker(publication), "context": "edit"},
                )
                posts = [
                    p for p in _json(response) if slug_marker(publication) in p.get("slug", "")
                ]
        if not posts:
            return None
        post = posts[0]
        return PublishResult(external_id=str(post["id"]), url=post.get("link", ""))

    def validate_account(self, account) -> None:
        self.account = account
        with self._client() as client:
            me = _json(send(client, "GET", self._api("users/me"), params={"context": "edit"}))
            capabilities = me.get("capabilities") or {}
            if capabilities and not capabilities.get("publish_posts"):
                raise PublishError(
                    _("user %(name)s may not publish posts") % {"name": me.get("name", "")},
                    permanent=True,
                )
            category = account.settings.get("category")
            if category and self._find_term(client, "categories", category) is None:
                raise PublishError(
                    _("category %(name)s does not exist on the site") % {"name": category},
                    permanent=True,
                )

    # --- helpers --------------------------------------------------------------------
    def _title(self, publication) -> str:
        return (publication.title_override or publication.page.title or "").strip()

    def _find_term(self, client, taxonomy: str, name: str) -> int | None:
        response = send(
            client, "GET", self._api(taxonomy), params={"search": name, "per_page": 100}
        )
        wanted = name.strip().casefold()
        for term in _json(response):
            # WordPress returns term names HTML-escaped ("Tips &amp; Tricks").
            if html_lib.unescape(term.get("name", "")).strip().casefold() == wanted:
                return int(term["id"])
        return None

    def _term_id(self, client, taxonomy: str, name: str) -> int:
        """The id of the category or tag called `name`, created when missing."""
        found = self._find_term(client, taxonomy, name)
        if found is not None:
            return found
        try:
            response = send(client, "POST", self._api(taxonomy), json={"name": name})
        except PublishError:
            # A concurrent publish may have created it between our lookup and create
            # (WordPress answers 400 term_exists): look it up again.
            found = self._find_term(client, taxonomy, name)
            if found is None:
                raise
            return found
        return int(_json(response)["id"])

    def _upload_featured_image(self, client, publication) -> int | None:
        page = publication.page.specific
        image = getattr(page, "cover_image", None) or getattr(page, "social_image", None)
        if image is None:
            return None
        try:
            rendition = image.get_rendition("max-1600x1600")
            with rendition.file.open("rb") as fh:
                data = fh.read()
            # Header values must be ASCII; WordPress renames the file anyway.
            filename = re.sub(r"[^A-Za-z0-9._-]", "_", rendition.file.name.rsplit("/", 1)[-1])
        except Exception as exc:  # noqa: BLE001 - a missing image file
            raise PublishError(
                _("cannot read the cover image: %(error)s") % {"error": exc}, permanent=True
            ) from exc
        content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        response = send(
            client,
            "POST",
            self._api("media"),
            content=data,
            headers={
                "Content-Type": content_type,
                "Content-Disposition": f'attachment; filename="{filename}"',
            },
        )
        media = _json(response)
        return int(media["id"])
