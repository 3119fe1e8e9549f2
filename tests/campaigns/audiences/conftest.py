import uuid

import pytest


@pytest.fixture(autouse=True)
def own_cache_keys(settings):
    """Each test counts public-form posts under its own cache prefix: under CI the cache
    is the Redis that parallel runs share, and one run's posts must not use up another
    run's limit."""
    settings.CACHES = {
        **settings.CACHES,
        "default": {**settings.CACHES["default"], "KEY_PREFIX": f"t{uuid.uuid4().hex}"},
    }
