"""A drill-only channel adapter that posts to the drill's loopback ChannelServer.

It behaves like a real remote API (posts keyed by our idempotency key, a lookup by key),
so "published twice" is counted outside our database, where a real duplicate would
show. It goes through channels.http like every adapter (the account is internal).
"""

from channels.base import ChannelAdapter, PublishError, PublishResult, Rendered
from channels.http import client_for_account


class DrillCounterAdapter(ChannelAdapter):
    kind = "blog/drill_counter"
    label = "Drill counter"

    def _base(self) -> str:
        return self.account.settings["base_url"].rstrip("/")

    def render(self, publication) -> Rendered:
        return Rendered(title=f"drill {publication.pk}")

    def publish(self, publication, rendered) -> PublishResult:
        with client_for_account(self.account, timeout=5) as client:
            response = client.post(
                f"{self._base()}/posts", json={"key": str(publication.idempotency_key)}
            )
        if response.status_code != 201:
            raise PublishError(f"HTTP {response.status_code}", permanent=False)
        return PublishResult(external_id=response.json()["id"])

    def find_existing(self, publication):
        with client_for_account(self.account, timeout=5) as client:
            response = client.get(f"{self._base()}/posts?key={publication.idempotency_key}")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise PublishError(f"HTTP {response.status_code}", permanent=False)
        return PublishResult(external_id=response.json()["id"])

    def validate_account(self, account):
        if not account.settings.get("base_url"):
            raise PublishError("base_url missing", permanent=True)
