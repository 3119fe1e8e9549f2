"""Draining the Redis event queue into the database (Celery beat, every few seconds).

Batches move to a processing list atomically, are stored with store_events, and only
then is the processing list deleted: a crash anywhere re-drains the batch, and the
unique `uid` makes the second insert a no-op, so an acknowledged event is never lost
nor counted twice.
"""

import json
import logging
import uuid

from .event_queue import queue_client, queue_key
from .events import store_events

logger = logging.getLogger(__name__)

_MOVE_BATCH = """
local n = tonumber(ARGV[1])
local items = redis.call('LRANGE', KEYS[1], 0, n - 1)
if #items > 0 then
  redis.call('LTRIM', KEYS[1], #items, -1)
  for i = 1, #items, 500 do
    redis.call('RPUSH', KEYS[2], unpack(items, i, math.min(i + 499, #items)))
  end
end
return items
"""
_RELEASE_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


# How long the drainer's lock outlives a drainer that could not release it: killed, or
# Redis restarted under it (the append-only file keeps the lock). Refreshed after every
# batch, and far above one batch's time (2,000 events take well under a second), but a
# restart mid-drain delays draining by this much at most, not five minutes.
DRAIN_LOCK_SECONDS = 30


def drain_event_queue(batch_size: int = 2000, max_batches: int = 100) -> int:
    """Move queued events into the database in batches. One drainer at a time (a Redis
    lock); safe to run often. Returns the number of queue entries processed."""
    client = queue_client()
    if client is None:
        return 0
    lock = f"{queue_key()}:lock"
    token = uuid.uuid4().hex
    if not client.set(lock, token, nx=True, ex=DRAIN_LOCK_SECONDS):
        return 0
    total = 0
    try:
        for _ in range(max_batches):
            items = claim_batch(client, batch_size)
            if not items:
                break
            store_events(_decode_entries(items))
            client.delete(processing_key())
            client.expire(lock, DRAIN_LOCK_SECONDS)
            total += len(items)
    finally:
        client.eval(_RELEASE_LOCK, 1, lock, token)
    return total


def processing_key() -> str:
    """The list holding the batch being stored, until it is."""
    return f"{queue_key()}:processing"


def claim_batch(client, batch_size: int) -> list[bytes]:
    """The next batch to store: the leftovers of a drainer that died mid-batch first,
    else up to `batch_size` entries moved atomically from the queue to the processing
    list. The batch stays there until the caller has stored it and deletes the list."""
    processing = processing_key()
    return client.lrange(processing, 0, -1) or client.eval(
        _MOVE_BATCH, 2, queue_key(), processing, batch_size
    )


def _decode_entries(items: list[bytes]) -> list[dict]:
    payloads = []
    for item in items:
        try:
            payload = json.loads(item)
        except ValueError:
            logger.error("dropping malformed queue entry %r", item[:200])
            continue
        if isinstance(payload, dict):
            payloads.append(payload)
    return payloads
