"""The web server's start-up (config/wsgi.py) freezes what it built, so a full garbage
collection during a request walks only the request's objects."""

import gc
import importlib
import sys


def test_wsgi_startup_freezes_the_start_up_objects():
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    sys.modules.pop("config.wsgi", None)
    try:
        wsgi = importlib.import_module("config.wsgi")
        assert callable(wsgi.application)
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
