"""Discourse: create a topic through the REST API (POST /posts.json).

Auth is the `Api-Key` / `Api-Username` header pair of an admin-issued API key.
Idempotency: the topic's `external_id` is our idempotency key, and Discourse looks a
topic up by it at /t/external_id/{id}.json.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from channels.base import ChannelAdapter, PublishError, PublishResult, Rendered
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

    @classmethod
    def settings_fields(cls):
        return {
            "base_url": forms.URLField(
                label=gettext_lazy("Forum URL"),
                help_text=gettext_lazy("e.g. https://forum.example.com"),
            ),
            "api_username": forms.CharField(label=gettext_lazy("API user name"), max_length=100),
            "category": forms.CharField(
                label=gettext_lazy("Default category"),
                required=False,
                max_length=200,
                help_text=gettext_lazy("Category name, slug or numeric id."),
            ),
        }

    @classmethod
    def secret_fields(cls):
        return {"api_key": forms.CharField(label=gettext_lazy("API key"))}

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
            response = send(client, "POST", self._url("posts.json"), json=payload)
            post = _json(response)
        topic_id = post.get("topic_id")
        slug = post.get("topic_slug") or "topic"
        return PublishResult(
            external_id=str(topic_id),
            url=self._url(f"t/{slug}/{topic_id}"),
            extra={"post_id": post.get("id")},
        )

    def find_existing(self, publication) -> PublishResult | None:
        # Discourse answers this lookup with a redirect to the topic's canonical URL.
        with self._client(follow_redirects=True, max_redirects=3) as client:
            try:
                response = send(
                    client,
                    "GET",
                    self._url(f"t/external_id/{publication.idempotency_key}.json"),
                )
            except PublishError as exc:
                if getattr(exc, "status_code", None) == 404:
                    return None
                raise
            topic = _json(response)
        return PublishResult(
            external_id=str(topic["id"]),
            url=self._url(f"t/{topic.get('slug', 'topic')}/{topic['id']}"),
        )

    def validate_account(self, account) -> None:
        self.account = account
        with self._client() as client:
            current = _json(send(client, "GET", self._url("session/current.json")))
            if not (current or {}).get("current_user"):
                raise PublishError(_("the API key is not valid for this user"), permanent=True)
            category = account.settings.get("category")
            if category:
                self._category_id(client, category)

    def _category_id(self, client, wanted: str) -> int:
        categories = _json(send(client, "GET", self._url("categories.json")))
        items = (categories.get("category_list") or {}).get("categories") or []
        key = str(wanted).strip().casefold()
        for cat in items:
            if key in (str(cat.get("id")), str(cat.get("slug", "")).casefold(),
                       str(cat.get("name", "")).strip().casefold()):  # fmt: skip
                return int(cat["id"])
        raise PublishError(
            _("category %(name)s does not exist on the forum") % {"name": wanted}, permanent=True
        )
