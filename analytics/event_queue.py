"""Where events are queued: the Redis URL and list key of the event queue, and a plain
client for it. Shared by the request path's pusher (analytics.pusher) and the drainer
(analytics.draining); importing it connects to nothing.

Without a Redis URL (the embedded default) there is no queue: events are stored
straight in the database.
"""

import functools

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

# One client per queue URL, shared by the threads of the process (redis-py's pool).
_CLIENTS: dict = {}


# Both are read on every tracked request, and each settings lookup costs more than the
# rest of the function: cached, and forgotten when a setting changes (tests).
@functools.cache
def queue_url() -> str:
    """The Redis URL of the event queue; empty on the embedded default."""
    return settings.ANALYTICS_REDIS_URL or settings.REDIS_URL


@functools.cache
def queue_key() -> str:
    return settings.ANALYTICS_QUEUE_KEY


@receiver(setting_changed)
def _forget_queue_settings(setting, **kwargs):
    if setting in {"ANALYTICS_REDIS_URL", "REDIS_URL", "ANALYTICS_QUEUE_KEY"}:
        queue_url.cache_clear()
        queue_key.cache_clear()


def queue_client():
    """The Redis client for the event queue, or None on the embedded default."""
    url = queue_url()
    if not url:
        return None
    client = _CLIENTS.get(url)
    if client is None:
        import redis  # on first use: the embedded default (no Redis) never needs it

        client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)
        _CLIENTS[url] = client
    return client
