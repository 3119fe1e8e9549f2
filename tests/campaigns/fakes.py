"""A fake channel, registered only in tests (the `fake_channel` fixture).

Posts are recorded in a store shared by every process of the test (Redis when the test
uses it, else memory), keyed by the publication's idempotency key, so "published
exactly once" is counted where the post lands, not inferred from our own rows.

The account's `settings["mode"]` decides what `publish` does:
  ok | permanent | transient (refused `fail_times` times, then ok) | post_then_timeout
  (posts, then the answer is lost: OutcomeUnknown, as a real adapter raises it) |
  post_then_time_limit (posts, then the worker's soft time limit interrupts it: the one
  raw exception a real publish can end with) | block_before / block_after (signal
  "started" and hang before / after posting; used to kill a worker mid-publish) |
  no_lookup (like post_then_timeout, but the channel cannot look posts up) |
  already_published (answers AlreadyPublished, as Discourse's "External ID has already
  been taken": posts nothing itself; found if an earlier attempt posted)

Like a real adapter it raises only the contract's errors (channels.base), never a raw
transport exception: a fake that did let httpx.ReadTimeout through once hid that the
real adapters turned timeouts into "nothing was created".
"""

import threading
import time

from celery.exceptions import SoftTimeLimitExceeded

from channels.base import (
    AlreadyPublished,
    ChannelAdapter,
    OutcomeUnknown,
    PublishError,
    PublishResult,
    Rendered,
)


class MemoryStore:
    def __init__(self):
        self.data: dict[str, int] = {}
        self.lock = threading.Lock()

    def incr(self, key: str) -> int:
        with self.lock:
            self.data[key] = self.data.get(key, 0) + 1
            return self.data[key]

    def get(self, key: str) -> int:
        return self.data.get(key, 0)


class RedisStore:
    def __init__(self, client, prefix: str):
        self.client = client
        self.prefix = prefix

    def incr(self, key: str) -> int:
        return int(self.client.incr(self.prefix + key))

    def get(self, key: str) -> int:
        return int(self.client.get(self.prefix + key) or 0)


STORE = MemoryStore()
# Optional hook a test sets to act while an attempt is in flight (e.g. pause).
DURING_PUBLISH = None


class FakeAdapter(ChannelAdapter):
    kind = "test/fake"
    label = "Fake"

    def render(self, publication):
        return Rendered(title=publication.title_override or publication.page.title, html="<p>x</p>")

    def _mode(self):
        return self.account.settings.get("mode", "ok")

    def publish(self, publication, rendered):
        key = str(publication.idempotency_key)
        STORE.incr(f"calls:{key}")
        if DURING_PUBLISH is not None:
            DURING_PUBLISH(publication)
        mode = self._mode()
        if mode == "permanent":
            raise PublishError("rejected: bad credentials", permanent=True)
        if mode == "transient":
            if STORE.incr(f"transient:{key}") <= self.account.settings.get("fail_times", 1):
                raise PublishError(
                    "429: rate limited by the channel",
                    permanent=False,
                    retry_after=self.account.settings.get("retry_after"),
                )
        if mode == "already_published":
            raise AlreadyPublished("422: External ID has already been taken")
        if mode == "block_before":
            STORE.incr(f"started:{key}")
            time.sleep(3600)
        STORE.incr(f"posts:{key}")
        if mode == "block_after":
            STORE.incr(f"started:{key}")
            time.sleep(3600)
        if mode in ("post_then_timeout", "no_lookup"):
            raise OutcomeUnknown("fake.example did not answer in time (ReadTimeout)")
        if mode == "post_then_time_limit":
            raise SoftTimeLimitExceeded()
        return PublishResult(external_id=f"fake-{key}", url=f"https://fake.example/{key}")

    def find_existing(self, publication):
        key = str(publication.idempotency_key)
        STORE.incr(f"lookups:{key}")
        if self._mode() == "no_lookup":
            raise NotImplementedError
        if STORE.get(f"posts:{key}"):
            return PublishResult(external_id=f"fake-{key}", url=f"https://fake.example/{key}")
        return None

    def validate_account(self, account):
        return None


def posts(publication) -> int:
    return STORE.get(f"posts:{publication.idempotency_key}")


def calls(publication) -> int:
    return STORE.get(f"calls:{publication.idempotency_key}")


def lookups(publication) -> int:
    return STORE.get(f"lookups:{publication.idempotency_key}")
