"""/healthz and /readyz over HTTP, against real services and closed ports."""

import pytest
from django.db import connections
from django.test import override_settings

from config.ops import services


def test_healthz_answers_without_touching_the_database(client, django_assert_num_queries):
    # No `db` fixture: pytest-django would raise on any query, so this also proves
    # /healthz does not depend on PostgreSQL.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"].startswith("max-age=0")


def test_readyz_ok_when_everything_is_up(client, db, redis_url, broker_url_override):
    broker_url_override(redis_url)
    with override_settings(
        CACHES={
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": redis_url,
            }
        }
    ):
        response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "migrations", "broker", "cache"}
    assert all(c["ok"] for c in body["checks"].values())
    assert body["checks"]["cache"]["detail"] == "RedisCache ok"


def test_readyz_fails_clearly_when_the_redis_broker_is_down(
    client, db, closed_port, broker_url_override
):
    broker_url_override(f"redis://:s3cret@127.0.0.1:{closed_port}/0")
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "fail"
    assert body["checks"]["broker"]["ok"] is False
    assert "Not ready: broker unavailable." == body["message"]
    assert "s3cret" not in response.content.decode()  # never echo credentials
    assert body["checks"]["database"]["ok"] is True


def test_readyz_fails_clearly_when_the_rabbitmq_broker_is_down(
    client, db, closed_port, broker_url_override
):
    broker_url_override(f"amqp://guest:guest@127.0.0.1:{closed_port}//")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False
    assert "Connection refused" in response.json()["checks"]["broker"]["detail"]


def test_readyz_ok_with_rabbitmq_broker(client, db, rabbitmq_url, broker_url_override):
    broker_url_override(rabbitmq_url)
    response = client.get("/readyz")
    assert response.json()["checks"]["broker"] == {
        "ok": True,
        "detail": "amqp ok",
        "ms": response.json()["checks"]["broker"]["ms"],
    }


@pytest.fixture
def database_on_closed_port(closed_port, django_db_blocker):
    """The default connection pointed at a port where no PostgreSQL listens."""
    conn = connections["default"]
    if conn.vendor != "postgresql":
        from tests.conftest import missing_service

        missing_service("PostgreSQL (set DATABASE_URL=postgres://...)")
    saved = dict(conn.settings_dict)
    with django_db_blocker.unblock():
        conn.close()
        conn.settings_dict.update({"HOST": "127.0.0.1", "PORT": closed_port})
        try:
            yield
        finally:
            conn.close()
            conn.settings_dict.clear()
            conn.settings_dict.update(saved)


def test_readyz_fails_clearly_when_postgresql_is_down(client, database_on_closed_port):
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 503
    assert body["checks"]["database"]["ok"] is False
    assert "OperationalError" in body["checks"]["database"]["detail"]
    assert body["checks"]["migrations"] == {
        "ok": False,
        "detail": "not checked: database unreachable",
        "ms": 0.0,
    }
    assert body["message"].startswith("Not ready: database, migrations")


def test_readyz_fails_when_a_migration_is_not_applied(client, db, monkeypatch):
    from django.db import connection

    monkeypatch.setattr(services, "migrations_known_applied", False)
    with connection.cursor() as cursor:  # rolled back with the test's transaction
        cursor.execute("DELETE FROM django_migrations WHERE app = 'ops' AND name = '0001_initial'")
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 503
    assert body["checks"]["migrations"]["ok"] is False
    assert "1 unapplied migration(s): ops.0001_initial" in body["checks"]["migrations"]["detail"]


def test_readyz_fails_when_the_cache_is_down(client, db, closed_port):
    with override_settings(
        CACHES={
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": f"redis://127.0.0.1:{closed_port}/0",
            }
        }
    ):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["cache"]["ok"] is False
    assert response.json()["message"].endswith("cache unavailable.")


def test_readyz_refuses_post(client):
    assert client.post("/readyz").status_code == 405
