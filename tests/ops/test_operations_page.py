"""The Wagtail admin operations page: permission checks and what it shows."""

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from kombu import Connection

from campaigns.models import Publication, PublicationEvent
from config.ops import services
from tests.factories import PublicationFactory, UserFactory

URL = "/admin/operations/"


@pytest.fixture
def admin_user(db):
    return UserFactory(username="ops-admin", is_superuser=True, is_staff=True)


@pytest.fixture
def ops_viewer(db):
    user = UserFactory(username="ops-viewer")
    user.user_permissions.add(
        Permission.objects.get(codename="access_admin", content_type__app_label="wagtailadmin"),
        Permission.objects.get(codename="view_operations", content_type__app_label="ops"),
    )
    return user


def test_anonymous_users_are_sent_to_login(client, db):
    response = client.get(URL)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_admin_users_without_the_permission_are_refused(client, db):
    user = UserFactory(username="marketer")
    user.user_permissions.add(
        Permission.objects.get(codename="access_admin", content_type__app_label="wagtailadmin")
    )
    client.force_login(user)
    response = client.get(URL)
    # Wagtail's admin answers every PermissionDenied the same way (wagtail.admin.auth.
    # require_admin_access): back to the dashboard with an error, never the page.
    assert response.status_code == 302
    assert response["Location"] == reverse("wagtailadmin_home")
    dashboard = client.get(response["Location"]).content.decode()
    assert "Sorry, you do not have permission to access this area." in dashboard
    # and the menu does not offer it
    assert URL not in dashboard


def test_page_shows_oldest_due_publication_and_recent_failures(client, ops_viewer, home_page):
    now = timezone.now()
    late = PublicationFactory(page=home_page, publish_at=now - datetime.timedelta(minutes=5))
    PublicationFactory(page=home_page, publish_at=now - datetime.timedelta(minutes=1))
    Publication.objects.update(status=Publication.Status.SCHEDULED, due_at=F("publish_at"))
    PublicationFactory(page=home_page, publish_at=now + datetime.timedelta(hours=1))
    failed = PublicationFactory(page=home_page)
    PublicationEvent.objects.create(
        publication=failed,
        from_status="publishing",
        to_status="failed",
        reason="HTTP 401 bad token",
    )
    old = PublicationEvent.objects.create(
        publication=failed, from_status="publishing", to_status="failed", reason="ancient"
    )
    PublicationEvent.objects.filter(pk=old.pk).update(created_at=now - datetime.timedelta(hours=25))

    client.force_login(ops_viewer)
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert f"Publication #{late.pk} of" in html
    assert "1 failure in the last 24 hours" in html
    assert "HTTP 401 bad token" in html
    assert "ancient" not in html
    # the menu offers it to this user
    assert URL.encode() in client.get("/admin/").content


def test_nothing_due_is_said_plainly(client, admin_user):
    client.force_login(admin_user)
    html = client.get(URL).content.decode()
    assert "None: every due publication has been claimed." in html
    assert "0 failures in the last 24 hours" in html


def test_queue_depth_is_read_from_the_redis_broker(redis_url, broker_url_override, db):
    broker_url_override(redis_url)
    with Connection(redis_url) as conn:
        queue = conn.SimpleQueue("publishing")
        queue.clear()
        for i in range(3):
            queue.put({"n": i})
        try:
            depths = {q.name: q for q in services.measure_queue_depths()}
            assert depths["publishing"].messages == 3
            assert depths["sending"].messages == 0
        finally:
            queue.clear()
            queue.close()


def test_queue_depth_reports_an_unreachable_broker(
    client, admin_user, closed_port, broker_url_override
):
    broker_url_override(f"redis://127.0.0.1:{closed_port}/0")
    client.force_login(admin_user)
    html = client.get(URL).content.decode()
    assert "unknown" in html
    assert "OperationalError" in html or "ConnectionError" in html


def test_page_names_the_broker_in_use_without_its_password(
    client, admin_user, closed_port, broker_url_override
):
    broker_url_override(f"redis://:s3cret@127.0.0.1:{closed_port}/0")
    client.force_login(admin_user)
    html = client.get(URL).content.decode()
    assert f"Broker: redis://:***@127.0.0.1:{closed_port}/0" in html
    assert "s3cret" not in html
