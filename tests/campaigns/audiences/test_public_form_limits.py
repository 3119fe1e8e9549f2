"""The public forms under abuse, through HTTP: one confirmation email per address per
period however often the form is posted, a per-client limit on the subscribe and
preference forms (429, the page again with what was typed; never on the RFC 8058
one-click unsubscribe), the same answer and the same work for every address, and a form
that still works embedded in another site's frame."""

import datetime
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from campaigns.audiences import services, tasks
from campaigns.audiences.models import Subscriber, Subscription, Suppression

from .factories import MailingListFactory

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def news(db):
    return MailingListFactory(slug="news", name="News", consent_text="Send me news.")


def client_at(ip: str, **kwargs) -> Client:
    return Client(REMOTE_ADDR=ip, **kwargs)


def test_thirty_posts_for_one_address_send_one_confirmation(news, celery_eager, settings):
    settings.AUDIENCES_FORM_LIMIT = 0  # no per-client limit: the per-address one alone
    for i in range(30):
        # From thirty different addresses, as a botnet would post.
        response = client_at(f"198.51.100.{i + 1}").post(
            "/subscribe/news/", {"email": "victim@example.org"}
        )
        assert response.status_code == 200
    assert len(mail.outbox) == 1
    subscription = Subscription.objects.get()
    assert subscription.status == Subscription.Status.PENDING

    # A day later, the address may be sent one more.
    Subscriber.objects.update(
        confirmation_sent_at=timezone.now() - datetime.timedelta(hours=24, minutes=1)
    )
    for _ in range(3):
        client_at("198.51.100.200").post("/subscribe/news/", {"email": "victim@example.org"})
    assert len(mail.outbox) == 2


def test_with_the_broker_down_the_form_still_subscribes(news, monkeypatch):
    from kombu.exceptions import OperationalError

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.subscribe_from_form, "apply_async", broker_down)
    response = client_at("198.51.100.7").post("/subscribe/news/", {"email": "later@example.org"})
    assert response.status_code == 200
    assert Subscription.objects.get(subscriber__email="later@example.org").status == (
        Subscription.Status.PENDING
    )
    assert len(mail.outbox) == 1


def test_the_period_is_per_address_across_lists_and_a_setting(news, celery_eager, settings):
    settings.AUDIENCES_FORM_LIMIT = 0
    other = MailingListFactory(slug="other")
    client = client_at("198.51.100.7")
    client.post("/subscribe/news/", {"email": "a@example.org"})
    client.post(f"/subscribe/{other.slug}/", {"email": "a@example.org"})
    client.post("/subscribe/news/", {"email": "b@example.org"})
    assert sorted(m.to[0] for m in mail.outbox) == ["a@example.org", "b@example.org"]
    settings.AUDIENCES_CONFIRMATION_PERIOD_SECONDS = 0
    client.post("/subscribe/news/", {"email": "a@example.org"})
    assert len(mail.outbox) == 3


def test_a_client_over_the_limit_gets_429_with_its_input_kept(news, celery_eager, settings):
    settings.AUDIENCES_FORM_LIMIT = 3
    client = client_at("203.0.113.50", HTTP_ACCEPT_LANGUAGE="en")
    for i in range(3):
        ok = client.post("/subscribe/news/", {"email": f"p{i}@example.org", "name": "P"})
        assert ok.status_code == 200 and "check your inbox" in ok.content.decode()
    refused = client.post("/subscribe/news/", {"email": "late@example.org", "name": "Late Lee"})
    assert refused.status_code == 429
    page = refused.content.decode()
    assert "Too many attempts from your network" in page and 'role="alert"' in page
    assert 'value="late@example.org"' in page and 'value="Late Lee"' in page  # nothing lost
    assert 0 < int(refused["Retry-After"]) <= settings.AUDIENCES_FORM_LIMIT_WINDOW_SECONDS
    assert "X-Frame-Options" not in refused  # still embeddable
    assert not Subscriber.objects.filter(email="late@example.org").exists()
    assert len(mail.outbox) == 3
    # Another client is not affected.
    assert (
        client_at("203.0.113.51").post("/subscribe/news/", {"email": "x@example.org"}).status_code
        == 200
    )


def test_the_limit_message_follows_the_browser(news, settings):
    settings.AUDIENCES_FORM_LIMIT = 1
    client = client_at("203.0.113.60", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    client.post("/subscribe/news/", {"email": "bad address"})
    refused = client.post("/subscribe/news/", {"email": "bad address"})
    assert refused.status_code == 429
    assert '<html lang="zh-hans"' in refused.content.decode()


def test_behind_trusted_proxies_the_client_is_read_from_x_forwarded_for(news, settings):
    settings.AUDIENCES_FORM_LIMIT = 1
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = client_at("10.0.0.2")  # every request arrives from the proxy's address

    def post(forwarded):
        return proxy.post(
            "/subscribe/news/", {"email": "bad"}, HTTP_X_FORWARDED_FOR=forwarded
        ).status_code

    assert post("192.0.2.1") == 200
    assert post("192.0.2.2") == 200  # another client behind the same proxy
    # A client cannot pick its own bucket by writing X-Forwarded-For: only the entry
    # the proxy appended counts.
    assert post("1.2.3.4, 192.0.2.1") == 429


def test_preferences_are_limited_but_one_click_unsubscribe_never(news, settings):
    settings.AUDIENCES_FORM_LIMIT = 2
    sub = services.subscribe("p@example.org", news, method="api", consent_basis="test")
    token = services.subscriber_token(sub.subscriber_id, news.pk)
    client = client_at("203.0.113.70")
    url = reverse("audiences:preferences", args=[token])
    form = {"name": "Pat", "language": "en", "lists": [str(news.pk)]}
    assert client.post(url, form).status_code == 200
    assert client.post(url, form).status_code == 200
    refused = client.post(url, {**form, "name": "Pat Typed This"})
    assert refused.status_code == 429 and 'value="Pat Typed This"' in refused.content.decode()
    assert refused["Retry-After"]
    assert Subscriber.objects.get().name == "Pat"  # the refused post changed nothing
    # A mail provider's one-click unsubscribes, many from one address, always work.
    for _ in range(5):
        assert client.post(reverse("audiences:unsubscribe", args=[token])).status_code == 200
    sub.refresh_from_db()
    assert sub.status == Subscription.Status.UNSUBSCRIBED


def test_every_address_gets_the_same_answer_and_the_same_work(news, monkeypatch, settings):
    """Unknown, pending, subscribed or suppressed: the same page, and the request does
    the same queries (none about the address): the subscribing is a worker's, so the
    answer's timing cannot tell them apart either."""
    settings.AUDIENCES_FORM_LIMIT = 0
    services.subscribe("subscribed@example.org", news, method="api", consent_basis="t")
    Subscription.objects.create(
        # Mailed a confirmation an hour ago.
        subscriber=Subscriber.objects.create(
            email="pending@example.org",
            confirmation_sent_at=timezone.now() - datetime.timedelta(hours=1),
        ),
        mailing_list=news,
        status=Subscription.Status.PENDING,
        consent_at=timezone.now(),
        consent_method=Subscription.Method.FORM,
    )
    Suppression.objects.create(email="gone@example.org", reason="complaint")
    queued = []
    monkeypatch.setattr(tasks.subscribe_from_form, "delay", lambda *args: queued.append(args))
    answers = []
    for email in (
        "new@example.org",
        "pending@example.org",
        "subscribed@example.org",
        "gone@example.org",
    ):
        with CaptureQueriesContext(connection) as queries:
            response = client_at("203.0.113.80").post("/subscribe/news/", {"email": email})
        answers.append(
            (
                response.status_code,
                response.content,
                sorted(response.headers.items()),
                [q["sql"] for q in queries.captured_queries],
            )
        )
        assert not any(email in q["sql"] for q in queries.captured_queries)
    assert all(answer == answers[0] for answer in answers[1:])
    assert [args[1] for args in queued] == [
        "new@example.org",
        "pending@example.org",
        "subscribed@example.org",
        "gone@example.org",
    ]
    assert all("203.0.113.80" not in str(args) for args in queued)  # a hash, not the IP
    # What the worker then does with them: only the new address is mailed.
    for args in queued:
        tasks.subscribe_from_form(*args)
    assert [m.to for m in mail.outbox] == [["new@example.org"]]
    assert not Subscription.objects.filter(subscriber__email="gone@example.org").exists()


def test_the_form_works_inside_another_sites_frame(news, celery_eager):
    """A third-party frame sends no cookies, so no CSRF cookie: the post must not need
    one, and no answer may forbid framing."""
    client = client_at("203.0.113.90", enforce_csrf_checks=True)
    page = client.get("/subscribe/news/")
    assert page.status_code == 200 and "X-Frame-Options" not in page
    client.cookies.clear()
    posted = client.post(
        "/subscribe/news/",
        {"email": "framed@example.org"},
        HTTP_ORIGIN="https://partner.example.net",
        HTTP_SEC_FETCH_SITE="cross-site",
    )
    assert posted.status_code == 200 and "X-Frame-Options" not in posted
    assert Subscription.objects.filter(subscriber__email="framed@example.org").exists()


def test_the_limit_holds_across_processes(news, redis_url, settings):
    """Counted in the shared cache: posts counted in another process (a second web
    worker) use up this process's limit for the same client."""
    prefix = f"t{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": prefix,
        }
    }
    settings.AUDIENCES_FORM_LIMIT = 3
    other_process = (
        "import django; django.setup()\n"
        "from django.conf import settings\n"
        "from django.test import RequestFactory\n"
        "from campaigns.audiences import limits\n"
        f"settings.CACHES = {{'default': {{'BACKEND': 'django.core.cache.backends.redis.RedisCache',"
        f" 'LOCATION': {redis_url!r}, 'KEY_PREFIX': {prefix!r}}}}}\n"
        "settings.AUDIENCES_FORM_LIMIT = 3\n"
        "request = RequestFactory().post('/', REMOTE_ADDR='203.0.113.99')\n"
        "print([limits.over_limit('subscribe', request) for _ in range(3)])\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    done = subprocess.run(
        [sys.executable, "-c", other_process],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[None, None, None]"
    refused = client_at("203.0.113.99").post("/subscribe/news/", {"email": "a@example.org"})
    assert refused.status_code == 429


def test_a_confirmation_that_could_not_be_sent_does_not_use_up_the_period(
    news, celery_eager, settings
):
    settings.AUDIENCES_FORM_LIMIT = 0
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there
    with pytest.raises(OSError):
        client_at("198.51.100.9").post("/subscribe/news/", {"email": "later@example.org"})
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    client_at("198.51.100.9").post("/subscribe/news/", {"email": "later@example.org"})
    assert [m.to for m in mail.outbox] == [["later@example.org"]]
