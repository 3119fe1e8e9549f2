"""The channel adapter contract: the one narrow interface every channel implements.

An adapter only talks to its channel. It never retries, sleeps or knows about Celery:
it raises PublishError(permanent=...) and the publish service (campaigns.services)
decides what happens next. See docs/architecture.md, "The channel adapter contract".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from campaigns.models import Publication
    from channels.models import ChannelAccount


class PublishError(Exception):
    """A publish (or lookup, or validation) failed.

    permanent=True: retrying cannot help (bad credentials, rejected content, 4xx).
    permanent=False: it may work later (timeouts, 5xx, rate limits); `retry_after` is the
    number of seconds the channel asked us to wait, when it said so.
    """

    def __init__(self, message: str, permanent: bool, retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after

    def __str__(self) -> str:
        return self.message


@dataclass
class Rendered:
    """Channel-specific output. Every outbound link in `html`, `markdown` and `text` is
    already a tracked link. A post (blog, forum) is put together by
    channels.render.common.build_rendered; an email issue by channels.email.rendering."""

    title: str = ""
    html: str = ""
    markdown: str = ""
    text: str = ""
    subject: str = ""
    preheader: str = ""
    excerpt: str = ""
    tags: list[str] = field(default_factory=list)
    category: str = ""
    canonical_url: str = ""
    extra: dict = field(default_factory=dict)


@dataclass
class PublishResult:
    external_id: str = ""
    url: str = ""
    extra: dict = field(default_factory=dict)


class ChannelAdapter:
    """Base class of every adapter. One instance serves one ChannelAccount."""

    kind: str = ""  # registry key, e.g. "blog/wordpress"
    label: str = ""

    def __init__(self, account: ChannelAccount):
        self.account = account

    def render(self, publication: Publication) -> Rendered:
        raise NotImplementedError

    def publish(self, publication: Publication, rendered: Rendered) -> PublishResult:
        """Create the post. Raises PublishError. Must put `publication.idempotency_key`
        somewhere `find_existing` can find it again."""
        raise NotImplementedError

    def find_existing(self, publication: Publication) -> PublishResult | None:
        """Look the post up remotely by our idempotency key. Called when an earlier
        attempt's outcome is unknown; returning None means "safe to publish again"."""
        raise NotImplementedError

    def validate_account(self, account: ChannelAccount) -> None:
        """Check credentials and settings; raise PublishError with a clear message."""
        raise NotImplementedError
