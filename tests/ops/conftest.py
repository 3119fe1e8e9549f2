import socket

import pytest


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def broker_url_override():
    """Point the Celery app at another broker for one test, then restore it."""
    from config.celery import app

    saved = app.conf.broker_url

    def set_url(url: str):
        app.conf.broker_url = url
        app.pool.force_close_all()

    yield set_url
    app.conf.broker_url = saved
    app.pool.force_close_all()
