"""Keep a Celery worker alive when its Redis broker restarts (kombu 5.7, Celery 5.7).

Why this exists: on a lost connection the consumer first `collect()`s the connection
(which closes the default channel, then detaches the transport), then `close()`s it. If
the channel was waiting in BRPOP, kombu's `Channel.close` re-reads that reply first; on a
dead socket this raises and the channel stays open, so the second close reaches
`restore_unacked` with a detached transport and the worker dies with "Unrecoverable
error: AttributeError: 'NoneType' object has no attribute 'hostname'" (found by
`make drill`, redis-restart-clicks). With this patch a failed read of the outstanding
reply no longer aborts the close. Unacked messages stay in Redis's unacked hash and come
back after the visibility timeout, as kombu intends.

Remove it once kombu closes a channel whose poll was lost without raising.
"""


def apply() -> None:
    """Patch kombu's Redis `Channel.close` once; a no-op without the redis extra."""
    try:
        from kombu.transport import redis as kombu_redis
    except ImportError:
        return
    original = kombu_redis.Channel.close
    if getattr(original, "finishes_after_lost_poll", False):
        return

    def close(self):
        if self._in_poll and not self.closed:
            self._closing = True
            try:
                self._brpop_read()
            except Exception:  # noqa: BLE001 - connection lost: close anyway
                pass
        return original(self)

    close.finishes_after_lost_poll = True
    kombu_redis.Channel.close = close
