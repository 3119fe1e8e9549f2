"""Discourse: create a topic through the REST API (POST /posts.json).

Auth is the `Api-Key` / `Api-Username` header pair of an admin-issued API key. A
granular key needs the scopes "topics: write" (create), "topics: read" (look a topic up
by external id) and "categories: list" (find a category by name); requests outside a
key's scopes are refused with 403, so nothing here calls an endpoint publishing does not
need ("Test connection" included; /session/current.json is in no scope).

Idempotency: the topic's `external_id` is our idempotency key, and Discourse looks a
topic up by it at /t/external_id/{id}.json (redirecting to the topic). Discourse itself
refuses a second topic with the same external id (422 "External ID has already been
taken"): that answer means ours is live, so `publish` raises AlreadyPublished and the
service records the topic it finds.
"""

from __future__ import annotations

import uuid

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
    problems_from,
    publication_category,
    publication_title,
)
from channels.http import client_for_account, send
from channels.render import render_markdown


def _json(response):
    try:
        return response.json()
    except ValueError as exc:
        raise PublishError(
            _("the forum did not answer with JSON (is the base URL the forum root?)"),
            permanent=True,
        ) from exc


class DiscourseAdapter(ChannelAdapter):
    kind = "forum/discourse"
    label = gettext_lazy("Forum: Discourse")

    account_settings = (
        AccountField(
            "base_url",
            gettext_lazy("Forum URL"),
            FieldType.URL,
            help_text=gettext_lazy("e.g. https://forum.example.com"),
            required=True,
        ),
        AccountField(
            "api_username",
            gettext_lazy("API user name"),
            help_text=gettext_lazy("The forum user topics are posted as, e.g. system."),
            required=True,
            max_length=100,
        ),
        AccountField(
            "category",
            gettext_lazy("Default category"),
            help_text=gettext_lazy("Optional. Category name, slug or numeric id."),
            max_length=200,
        ),
    )
    account_secrets = (
        AccountField(
            "api_key",
            gettext_lazy("API key"),
            FieldType.PASSWORD,
            help_text=gettext_lazy("Admin → API → New API key in Discourse."),
            required=True,
        ),
    )

    def _url(self, path: str) -> str:
        base = (self.account.settings.get("base_url") or "").rstrip("/")
        if not base:
            raise PublishError(_("the account has no forum URL"), permanent=True)
        return f"{base}/{path.lstrip('/')}"

    def _client(self, **kwargs):
        key = self.account.secrets.get("api_key", "")
        username = self.account.settings.get("api_username", "")
        if not key or not username:
            raise PublishError(_("the account has no API key or API user name"), permanent=True)
        return client_for_account(
            self.account,
            headers={"Api-Key": key, "Api-Username": username, "Accept": "application/json"},
            **kwargs,
        )

    def render(self, publication) -> Rendered:
        return render_markdown(publication.page, publication)

    def publish(self, publication, rendered: Rendered) -> PublishResult:
        with self._client() as client:
            payload = {
                "title": rendered.title,
                "raw": rendered.markdown,
                "external_id": str(publication.idempotency_key),
            }
            if rendered.category:
                payload["category"] = self._category_id(client, rendered.category)
            if rendered.tags:
                payload["tags"] = rendered.tags
            try:
                response = send(client, "POST", self._url("posts.json"), json=payload)
            except PublishError as exc:
                if getattr(exc, "status_code", None) == 422:
                    self._raise_if_already_there(publication, exc)
                raise
        try:
            post = response.json()
            if isinstance(post, dict) and post.get("action") == "enqueued":
                # The forum holds new topics for review: a retry would queue another.
                raise PublishError(
                    _(
                        "The forum put the topic in its review queue: a moderator must "
                        "approve it there (nothing more will be posted)."
                    ),
                    permanent=True,
                )
            topic_id = int(post["topic_id"])
        except (ValueError, TypeError, KeyError) as exc:
            raise OutcomeUnknown(
                _("the forum answered the new topic with something we cannot read (%(body)s)")
                % {"body": response.text[:200].strip()}
            ) from exc
        slug = post.get("topic_slug") or "topic"
        return PublishResult(
            external_id=str(topic_id),
            url=self._url(f"t/{slug}/{topic_id}"),
            extra={"post_id": post.get("id")},
        )

    def find_existing(self, publication) -> PublishResult | None:
        topic = self._topic_by_external_id(str(publication.idempotency_key))
        if topic is None:
            return None
        return PublishResult(
            external_id=str(topic["id"]),
            url=self._url(f"t/{topic.get('slug', 'topic')}/{topic['id']}"),
        )

    def validate_account(self, account) -> None:
        """Only endpoints publishing needs: the category list (key valid, "categories:
        list") and a lookup by an external id no topic has (404 means the key may
        look topics up, "topics: read"; 403 means it may not)."""
        self.account = account
        with self._client() as client:
            category = account.settings.get("category")
            if category:
                self._category_id(client, category)
            else:
                self._categories(client)
        try:
            self._topic_by_external_id(f"campaignhub-connection-test-{uuid.uuid4()}")
        except PublishError as exc:
            if getattr(exc, "status_code", None) == 403:
                raise PublishError(
                    _(
                        "the API key may not look topics up by external id (give it the "
                        "scope topics: read): %(error)s"
                    )
                    % {"error": exc.message},
                    permanent=True,
                ) from exc
            raise

    def check_publication(self, publication) -> list[str]:
        """The category must exist (subcategories included) and the title must be as long
        as the forum's min_topic_title_length (and no longer than its maximum), counted
        in characters as Discourse counts them (一 is one, like a)."""
        problems = []
        category = publication_category(publication)
        if category:
            problems += problems_from(lambda: self._category_problems(category))
        title = publication_title(publication)
        problems += problems_from(lambda: self._title_problems(title))
        return problems

    # --- helpers --------------------------------------------------------------------
    def _topic_by_external_id(self, external_id: str) -> dict | None:
        # Discourse answers this lookup with a redirect to the topic's canonical URL.
        with self._client(follow_redirects=True, max_redirects=3) as client:
            try:
                response = send(client, "GET", self._url(f"t/external_id/{external_id}.json"))
            except PublishError as exc:
                if getattr(exc, "status_code", None) == 404:
                    return None
                raise
            return _json(response)

    def _raise_if_already_there(self, publication, refusal: PublishError) -> None:
        """After a 422 to the create call: raise AlreadyPublished when our topic exists.
        The English answer says so ("External ID has already been taken"); in another
        forum language only a lookup can tell, so look."""
        if "external id" in refusal.message.casefold():
            raise AlreadyPublished(refusal.message) from refusal
        try:
            found = self.find_existing(publication)
        except PublishError as exc:
            raise OutcomeUnknown(
                _("%(refusal)s; and looking our topic up failed: %(error)s")
                % {"refusal": refusal.message, "error": exc.message}
            ) from exc
        if found is not None:
            raise AlreadyPublished(refusal.message) from refusal

    def _categories(self, client) -> list[dict]:
        """Every category, subcategories included (they can be chosen too)."""
        answer = _json(
            send(
                client,
                "GET",
                self._url("categories.json"),
                params={"include_subcategories": "true"},
            )
        )
        found = []
        pending = list(((answer or {}).get("category_list") or {}).get("categories") or [])
        while pending:
            category = pending.pop(0)
            found.append(category)
            pending.extend(category.get("subcategory_list") or [])
        return found

    def _category_problems(self, category: str) -> list[str]:
        with self._client() as client:
            self._category_id(client, category)  # a missing one raises, permanent
        return []

    def _category_id(self, client, wanted: str) -> int:
        key = str(wanted).strip().casefold()
        for cat in self._categories(client):
            if key in (str(cat.get("id")), str(cat.get("slug", "")).casefold(),
                       str(cat.get("name", "")).strip().casefold()):  # fmt: skip
                return int(cat["id"])
        raise PublishError(
            _("category %(name)s does not exist on the forum") % {"name": wanted}, permanent=True
        )

    def _title_problems(self, title: str) -> list[str]:
        """The title against the forum's client site settings. They are public (every
        visitor's browser loads them), so they are read without the API key, whose
        scopes do not cover them; a forum that hides them (login required) is skipped
        (the create call will still refuse a short title, permanently and clearly)."""
        with client_for_account(self.account, headers={"Accept": "application/json"}) as client:
            try:
                response = send(client, "GET", self._url("site/settings.json"))
                settings = response.json() if response.status_code == 200 else None
            except PublishError as exc:
                if getattr(exc, "status_code", None) in (403, 404):
                    return []
                raise
            except ValueError:  # a login page instead of the settings
                settings = None
        shortest = _int_setting(settings, "min_topic_title_length")
        longest = _int_setting(settings, "max_topic_title_length")
        length = len(title.strip())
        if shortest and length < shortest:
            return [
                _(
                    "the title has %(length)d characters; this forum needs at least %(min)d "
                    "(min_topic_title_length)"
                )
                % {"length": length, "min": shortest}
            ]
        if longest and length > longest:
            return [
                _("the title has %(length)d characters; this forum allows at most %(max)d")
                % {"length": length, "max": longest}
            ]
        return []


def _int_setting(settings, name: str) -> int | None:
    try:
        return int((settings or {}).get(name))
    except (TypeError, ValueError):
        return None
