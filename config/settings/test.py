"""Test settings: DATABASE_URL / CELERY_BROKER_URL pick the real services in CI."""

import os

from .base import *  # noqa: F401,F403
from .base import BASE_DIR, DATABASES, env

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Parallel test runs (several developers on one machine) each get their own database.
_suffix = os.environ.get("TEST_DB_SUFFIX", "")
if _suffix:
    DATABASES["default"].setdefault("TEST", {})["NAME"] = f"test_campaignhub_{_suffix}"
LANGUAGE_CODE = "en"
SSO_DOMAIN_GROUPS = {"example.com": "Marketers", "press.example.org": "Editors"}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so `pytest --reuse-db` can skip the (slow) Wagtail migrations.
    DATABASES["default"].setdefault("TEST", {})["NAME"] = str(
        BASE_DIR / "var" / f"test_{_suffix or 'default'}.sqlite3"
    )

# The shared Redis cache is one keyspace for every test run on the machine (parallel
# runs, other developers): Wagtail keeps the sites' root paths there, among others, and
# a run must never read another's. One prefix per run, inherited by the processes it
# starts (a real worker, a web server), so they share this run's entries.
os.environ.setdefault("TEST_CACHE_PREFIX", f"test-{_suffix or 'default'}-{os.getpid()}")
for _cache in CACHES.values():  # noqa: F405 - from .base
    _cache["KEY_PREFIX"] = os.environ["TEST_CACHE_PREFIX"]
# Wagtail's renditions in this process only (tests/conftest.py clears it per test).
CACHES["renditions"] = {  # noqa: F405
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "renditions",
}
