"""A drill-only channel adapter that posts to the drill's loopback ChannelServer
(deploy/drills/peer.py).

It behaves like a real adapter against a real remote API: posts carry our idempotency
key, `find_existing` lists the channel's posts with that key, and every request goes
through `channels.http.send` (the account is internal), so a lost answer, a timeout or a
5xx after the create call was sent is the contract's OutcomeUnknown, exactly as for
WordPress or Discourse. "Published twice" is then counted at the peer, outside our
database, where a real duplicate would show.

Account settings: `base_url` (required) and `timeout_seconds` (default 5): the drill
that delays answers sets it below the peer's delay.
"""

from django.utils.translation import gettext as _

from channels.base import ChannelAdapter, OutcomeUnknown, PublishError, PublishResult, Rendered
from channels.http import client_for_account, send

DEFAULT_TIMEOUT_SECONDS = 5.0


class DrillCounterAdapter(ChannelAdapter):
    kind = "blog/drill_counter"
    label = "Drill counter"

    def _base(self) -> str:
        return self.account.settings["base_url"].rstrip("/")

    def _client(self):
        timeout = float(self.account.settings.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS))
        return client_for_account(self.account, timeout=timeout)

    def _result(self, post: dict) -> PublishResult:
        return PublishResult(external_id=str(post["id"]), url=f"{self._base()}/posts/{post['id']}")

    def render(self, publication) -> Rendered:
        return Rendered(title=f"drill {publication.pk}")

    def publish(self, publication, rendered) -> PublishResult:
        key = str(publication.idempotency_key)
        with self._client() as client:
            response = send(
                client, "POST", f"{self._base()}/posts", json={"key": key, "title": rendered.title}
            )
        try:
            post = response.json()
            return self._result(post)
        except (ValueError, TypeError, KeyError) as exc:
            # The create call was carried out as far as we know: an answer we cannot
            # read leaves the outcome unknown (the contract).
            raise OutcomeUnknown(
                _("the channel answered the new post with something we cannot read (%(body)s)")
                % {"body": response.text[:200].strip()}
            ) from exc

    def find_existing(self, publication) -> PublishResult | None:
        key = str(publication.idempotency_key)
        with self._client() as client:
            response = send(client, "GET", f"{self._base()}/posts", params={"key": key})
        try:
            posts = [p for p in response.json() if p["key"] == key]
        except (ValueError, TypeError, KeyError) as exc:
            raise PublishError(
                _("the channel answered the lookup with something we cannot read"),
                permanent=False,
            ) from exc
        if not posts:
            return None
        # The oldest is the original; a later one would be a duplicate (which the drills count).
        return self._result(min(posts, key=lambda p: p["id"]))

    def validate_account(self, account):
        if not account.settings.get("base_url"):
            raise PublishError("base_url missing", permanent=True)
