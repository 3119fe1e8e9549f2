import socket

import pytest


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def broker_url_override(monkeypatch):
    """Point the Celery app at another broker for one test, then restore it.

    Through the environment, not `app.conf.broker_url`: Celery reads the
    CELERY_BROKER_URL variable before its configuration (celery.app.utils.Settings), and
    CI exports it, so an assignment to the conf would be silently ignored there.
    """
    from config.celery import app
    from tests.journeys.conftest import fresh_pools

    def set_url(url: str):
        monkeypatch.setenv("CELERY_BROKER_URL", url)
        # These would take precedence over CELERY_BROKER_URL for reads/writes.
        monkeypatch.delenv("CELERY_BROKER_WRITE_URL", raising=False)
        monkeypatch.delenv("CELERY_BROKER_READ_URL", raising=False)
        assert app.conf.broker_write_url == url
        app.pool.force_close_all()

    yield set_url
    monkeypatch.undo()
    app.pool.force_close_all()
    # force_close_all leaves the pool closed for good ("Acquire on closed pool" in every
    # later test that sends a task): start the app on new pools for the broker restored.
    fresh_pools(app)
