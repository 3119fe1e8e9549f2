"""The channel adapter contract: the one narrow interface every channel implements.

An adapter only talks to its channel. It never retries, sleeps or knows about Celery:
it raises PublishError(permanent=...) and the publish service (campaigns.services)
decides what happens next. See docs/architecture.md, "The channel adapter contract".

Exactly once rests on one distinction the adapter must make for every failure of
`publish`: did the channel surely NOT create the post (PublishError: the service may
simply try again), or may it have (OutcomeUnknown: the service looks the post up with
`find_existing` before it ever posts again)? When in doubt, it is OutcomeUnknown: a
needless lookup costs one request, a wrong "nothing was created" costs a second post.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

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


class OutcomeUnknown(PublishError):
    """The request may have reached the channel and been acted on; we never heard how.

    Raised for a create request that went out and then: timed out while waiting for the
    answer, lost its connection (reset, closed before or during the answer), got a
    502/503/504 (a gateway may have forwarded it) or another 5xx, or got a 2xx answer
    we cannot read. Never permanent: the service looks the post up before the next try.
    Failures where nothing can have been sent (no connection, DNS, a connect timeout)
    are a plain transient PublishError instead.
    """

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message, permanent=False, retry_after=retry_after)


class AlreadyPublished(PublishError):
    """The channel's answer proves our post already exists (Discourse: "External ID has
    already been taken"; a platform refusing a duplicate of our marker slug). The
    service then fetches it with `find_existing` and records it as published; it never
    counts as a failure."""

    def __init__(self, message: str):
        super().__init__(message, permanent=False)


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


class FieldType:
    """The kinds of value an account setting or secret can hold; each becomes its own
    input in the account form (channels.forms)."""

    TEXT = "text"
    TEXTAREA = "textarea"
    URL = "url"
    EMAIL = "email"
    INTEGER = "integer"
    NUMBER = "number"  # a decimal number, stored as a float
    BOOLEAN = "boolean"
    CHOICE = "choice"
    PASSWORD = "password"  # a one-line secret
    SECRET_TEXT = "secret_text"  # a multi-line secret, e.g. a PEM key

    ALL = (TEXT, TEXTAREA, URL, EMAIL, INTEGER, NUMBER, BOOLEAN, CHOICE, PASSWORD, SECRET_TEXT)
    SECRET = (PASSWORD, SECRET_TEXT)


@dataclass(frozen=True)
class AccountField:
    """One key of a ChannelAccount's `settings` or `secrets`, as its adapter reads it.

    The account form is built from these (typed inputs, selects for choices, checkboxes
    for booleans, write-only inputs for secrets), so a marketer never types JSON.
    `choices` is a sequence of (value, label) or a callable returning one, for choices
    only known at run time (the mailing lists). `default` is what the adapter uses when
    the key is absent: the form offers it on a new account.
    """

    name: str
    label: Any  # a lazy translation
    type: str = FieldType.TEXT
    help_text: Any = ""
    required: bool = False
    choices: tuple | Callable[[], Any] = ()
    default: Any = None
    min_value: float | None = None
    max_value: float | None = None
    max_length: int | None = None
    pattern: str = ""  # a regular expression a text value must match in full
    # (setting name, value): required only while that setting has that value, e.g. an
    # SES topic ARN while the webhook setting says "ses".
    required_when: tuple[str, Any] | None = None

    def __post_init__(self):
        if self.type not in FieldType.ALL:
            raise ValueError(f"{self.name}: unknown field type {self.type!r}")
        if self.type == FieldType.CHOICE and not self.choices:
            raise ValueError(f"{self.name}: a choice field needs choices")

    @property
    def is_secret(self) -> bool:
        return self.type in FieldType.SECRET

    def get_choices(self) -> list:
        return list(self.choices() if callable(self.choices) else self.choices)


class ChannelAdapter:
    """Base class of every adapter. One instance serves one ChannelAccount."""

    kind: str = ""  # registry key, e.g. "blog/wordpress"
    label: str = ""

    # What the account form asks for: every key of `account.settings` and
    # `account.secrets` the adapter reads, declared once (see AccountField).
    account_settings: tuple[AccountField, ...] = ()
    account_secrets: tuple[AccountField, ...] = ()
    # Keys the adapter reads that no person types: written by code (an OAuth
    # connection's tokens) or kept for tests and proxies. The form keeps them as stored.
    managed_keys: frozenset[str] = frozenset()

    def __init__(self, account: ChannelAccount):
        self.account = account

    def render(self, publication: Publication) -> Rendered:
        raise NotImplementedError

    def render_preview(self, publication: Publication) -> Rendered:
        """What a person previewing the publication is shown. The same as render()
        unless the rendered output still holds per-recipient merge fields (email)."""
        return self.render(publication)

    def publish(self, publication: Publication, rendered: Rendered) -> PublishResult:
        """Create the post. Must put `publication.idempotency_key` somewhere
        `find_existing` can find it again.

        Raises PublishError when the channel surely did not create the post (refused,
        rate limited, unreachable before anything was sent), OutcomeUnknown when it may
        have (see that class; an unreadable 2xx answer to the create call included),
        AlreadyPublished when the answer proves the post already exists. Never lets a
        raw transport exception (httpx, socket, xmlrpc) through."""
        raise NotImplementedError

    def find_existing(self, publication: Publication) -> PublishResult | None:
        """Look the post up remotely by our idempotency key. Called when an earlier
        attempt's outcome is unknown; returning None means "safe to publish again", so
        it must find our post whatever happened since: a changed title, many newer
        posts by the same account (page back to `publication.first_attempt_at()`).
        Raises PublishError when it cannot tell (the service then asks again later)."""
        raise NotImplementedError

    def validate_account(self, account: ChannelAccount) -> None:
        """Check credentials and settings; raise PublishError with a clear message."""
        raise NotImplementedError

    def check_publication(self, publication: Publication) -> list[str]:
        """Problems that would make the channel refuse (or silently alter) this
        publication, as translated sentences for the person scheduling it: a category
        the channel does not have, a title too short or too long, a required flair.
        [] means nothing found. Asks the channel (so it may take a few requests); a
        channel that cannot be reached is not a problem here (publishing will retry),
        so only answers the channel gave are reported (see `problems_from`).
        Default: no checks."""
        return []


# Our clock and the channel's may disagree; lookups page back this much further.
LOOKUP_CLOCK_MARGIN = datetime.timedelta(hours=1)


def lookup_horizon(publication: Publication) -> datetime.datetime:
    """The oldest time a post of ours for `publication` can carry on the channel: its
    first attempt (or, if none is recorded, the publication's creation), less a margin
    for clock skew. `find_existing` pages back through the account's posts to here."""
    start = publication.first_attempt_at() or publication.created_at
    return start - LOOKUP_CLOCK_MARGIN


def publication_title(publication: Publication) -> str:
    """The title the renderers will use (the per-channel override, else the page's),
    for checks that must not render (rendering creates tracked links)."""
    return (publication.title_override or publication.page.title or "").strip()


def publication_category(publication: Publication) -> str:
    """The category the renderers will use: the publication's, else the account's."""
    return publication.forum_category or publication.channel_account.settings.get("category", "")


def problems_from(check) -> list[str]:
    """Run `check()` (which returns a list of problems) for `check_publication`. A
    permanent PublishError (bad credentials, a refused request) is itself the problem;
    a transient one (channel unreachable) is not reported, since publishing retries."""
    try:
        return check()
    except PublishError as exc:
        return [exc.message] if exc.permanent else []
