"""gunicorn server hooks shared by deploy/gunicorn.conf.py and the redirect benchmark.

With `preload_app = True` the application is imported once in gunicorn's master
process; `when_ready` then runs there, before any worker is forked, so what it loads is
inherited by every worker, including the ones that replace recycled workers
(max_requests) or a graceful restart (SIGHUP), without each paying for it again.
"""

import gc
import logging

logger = logging.getLogger("gunicorn.error")


def when_ready(server):
    from django.db import connections

    from analytics.link_cache import warm_link_cache

    try:
        loaded = warm_link_cache()
        logger.info("link cache warmed with %d links", loaded)
    except Exception:  # noqa: BLE001 - a cold cache is slower, never wrong
        logger.warning("could not warm the link cache", exc_info=True)
    finally:
        # Database connections must not be shared with the forked workers.
        connections.close_all()
    # Keep the preloaded objects out of the collector's way in the workers, so their
    # pages stay shared with the master instead of being copied on the first collection.
    gc.freeze()
