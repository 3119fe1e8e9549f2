"""WordPress REST API (wp-json/wp/v2) with an application password.

Idempotency: every post carries our idempotency key twice. Its slug ends with it
("<title>-ch<key hex>"), and its content starts with an HTML comment marker
("<!-- campaignhub:<key> -->", which WordPress keeps even for authors without
unfiltered_html). `find_existing` asks for the exact slug first, in every status
(`status=publish,future,draft,pending,private`, `context=edit`); when the title, and so
the slug, has changed since the post was made, it searches for the content marker:
WordPress's `search` looks in title, excerpt and content but never in the slug, so the
slug alone could not be found that way. When the site registers a post meta key (settings
`meta_key`, e.g. with `register_post_meta(..., show_in_rest=true)`), the key is stored
there as well.

WordPress never refuses a duplicate slug: it makes it unique ("...-2"). A created post
coming back with our slug plus such a suffix proves an earlier attempt's post exists
(its create reached WordPress late); that duplicate is moved to the trash and
AlreadyPublished raised, so the service records the original.
"""

from __future__ import annotations

import html as html_lib
import mimetypes
import re

from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from channels.base import (
    AccountField,
    AlreadyPublished,
    ChannelAdapter,
    FieldType,
    OutcomeUnknown,
    PublishError,
    PublishResult,
    Rendered,
)
from channels.blog import FEED_VERIFICATION_SETTINGS
from channels.http import client_for_account, send
from channels.render import render_html

# Every status a post of ours can be in; trashed posts are left out on purpose (a post
# someone trashed is not "published", and WordPress renames their slugs anyway).
ANY_STATUS = "publish,future,draft,pending,private"


def slug_marker(publication) -> str:
    return f"ch{publication.idempotency_key.hex}"


def key_marker(publication) -> str:
    return f"campaignhub:{publication.idempotency_key}"


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


def _created_post(response) -> dict:
    """The post from WordPress's answer to the create call. The request was carried out
    as far as we know, so an answer we cannot read leaves the outcome unknown."""
    try:
        post = response.json()
        post_id = int(post["id"])
    except (ValueError, TypeError, KeyError) as exc:
        raise OutcomeUnknown(
            _("WordPress answered the new post with something we cannot read (%(body)s)")
            % {"body": response.text[:200].strip()}
        ) from exc
    return {**post, "id": post_id}


def _existing_term(response) -> dict:
    """{"id": term id} from a 400 `term_exists` answer, else {}."""
    if response.status_code != 400:
        return {}
    try:
        body = response.json()
    except ValueError:
        return {}
    if not isinstance(body, dict) or body.get("code") != "term_exists":
        return {}
    data = body.get("data") if isinstance(body.get("data"), dict) else {}
    term_id = data.get("term_id")
    return {"id": term_id} if isinstance(term_id, int) and term_id > 0 else {}


class WordPressAdapter(ChannelAdapter):
    kind = "blog/wordpress"
    label = gettext_lazy("Blog: WordPress")

    account_settings = (
        AccountField(
            "base_url",
            gettext_lazy("Site URL"),
            FieldType.URL,
            help_text=gettext_lazy("The WordPress site root, e.g. https://blog.example.com"),
            required=True,
        ),
        AccountField(
            "username",
            gettext_lazy("User name"),
            help_text=gettext_lazy("The WordPress user the application password belongs to."),
            required=True,
            max_length=100,
        ),
        AccountField(
            "category",
            gettext_lazy("Default category"),
            help_text=gettext_lazy("Optional. Used when a publication names none."),
            max_length=200,
        ),
        AccountField(
            "meta_key",
            gettext_lazy("Post meta key for our idempotency key"),
            help_text=gettext_lazy(
                "Optional. A post meta key the site exposes in its REST API; lets a "
                "lost answer be looked up by key instead of by slug."
            ),
            max_length=100,
        ),
        *FEED_VERIFICATION_SETTINGS,
    )
    account_secrets = (
        AccountField(
            "application_password",
            gettext_lazy("Application password"),
            FieldType.PASSWORD,
            help_text=gettext_lazy("Users → Profile → Application Passwords in WordPress."),
            required=True,
        ),
    )

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
        rendered = render_html(publication.page, publication, flavour="wordpress")
        rendered.html = f"<!-- {key_marker(publication)} -->\n{rendered.html}"
        return rendered

    def publish(self, publication, rendered: Rendered) -> PublishResult:
        html = rendered.html
        if key_marker(publication) not in html:
            html = f"<!-- {key_marker(publication)} -->\n{html}"
        with self._client() as client:
            category_names = [rendered.category] if rendered.category else []
            payload = {
                "title": rendered.title,
                "content": html,
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
            post = _created_post(response)
            self._refuse_duplicate(client, post, payload["slug"])
        return PublishResult(external_id=str(post["id"]), url=post.get("link", ""))

    def find_existing(self, publication) -> PublishResult | None:
        with self._client() as client:
            posts = _json(
                send(
                    client,
                    "GET",
                    self._api("posts"),
                    params={
                        "slug": post_slug(self._title(publication), publication),
                        "status": ANY_STATUS,
                        "context": "edit",
                    },
                )
            )
            if not posts:
                # The title (and so the slug prefix) may have changed since the post was
                # made: search for the content marker (search never looks at slugs).
                found = _json(
                    send(
                        client,
                        "GET",
                        self._api("posts"),
                        params={
                            "search": key_marker(publication),
                            "status": ANY_STATUS,
                            "context": "edit",
                            "per_page": 100,
                        },
                    )
                )
                posts = [p for p in found if _carries_marker(p, publication)]
        if not posts:
            return None
        # The oldest is the original; any later one is a duplicate (see the module doc).
        post = min(posts, key=lambda p: int(p["id"]))
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

    def _refuse_duplicate(self, client, post: dict, asked_slug: str) -> None:
        """WordPress gave the new post `asked_slug-N`: a post with our slug exists, so this
        one is a duplicate. Trash it (recoverable from WordPress's trash) and raise
        AlreadyPublished so the service records the original instead."""
        if not re.fullmatch(re.escape(asked_slug) + r"-\d+", post.get("slug") or ""):
            return
        try:
            send(client, "DELETE", self._api(f"posts/{post['id']}"), may_create=False)
            fate = _("moved the duplicate %(id)s to the trash") % {"id": post["id"]}
        except PublishError as exc:
            fate = _("could not trash the duplicate %(id)s (%(error)s): delete it by hand") % {
                "id": post["id"],
                "error": exc.message,
            }
        raise AlreadyPublished(
            _("the site already has a post with our slug %(slug)s; %(fate)s")
            % {"slug": asked_slug, "fate": fate}
        )

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
        """The id of the category or tag called `name`, created when missing.

        WordPress stores "Tips & Tricks" as "Tips &amp; Tricks", and its term search
        does not find the name as typed; creating it again answers 400 `term_exists`
        with the existing term's id (`data.term_id`), which is the one we want."""
        found = self._find_term(client, taxonomy, name)
        if found is not None:
            return found
        existing: dict = {}
        try:
            response = send(
                client,
                "POST",
                self._api(taxonomy),
                json={"name": name},
                may_create=False,
                on_response=lambda answer: existing.update(_existing_term(answer)),
            )
        except PublishError:
            if existing.get("id"):
                return int(existing["id"])
            # A concurrent publish may have created it between our lookup and create:
            # look it up again.
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
        # may_create=False: a lost answer here leaves at most an unused image, not a post.
        response = send(
            client,
            "POST",
            self._api("media"),
            may_create=False,
            content=data,
            headers={
                "Content-Type": content_type,
                "Content-Disposition": f'attachment; filename="{filename}"',
            },
        )
        media = _json(response)
        return int(media["id"])


def _carries_marker(post: dict, publication) -> bool:
    """Whether a post from a search answer (context=edit) is ours: the content marker in
    its raw content, or our slug marker in its slug."""
    content = post.get("content")
    raw = content.get("raw", "") if isinstance(content, dict) else str(content or "")
    return key_marker(publication) in raw or slug_marker(publication) in (post.get("slug") or "")
