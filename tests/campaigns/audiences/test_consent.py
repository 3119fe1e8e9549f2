"""Subscribing with consent, double opt-in, unsubscribe links, preferences, segments."""

import datetime

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from campaigns.audiences import services
from campaigns.audiences.models import Segment, Subscriber, Subscription, Suppression

from .factories import MailingListFactory, SubscriberFactory, subscribe_many


@pytest.fixture
def news(db):
    return MailingListFactory(slug="news", name="News", consent_text="Send me news.")


@pytest.mark.django_db
def test_form_signup_is_double_opt_in_with_consent_record(news, celery_eager):
    client = Client(REMOTE_ADDR="203.0.113.9")
    response = client.post("/subscribe/news/", {"email": "Ann@Example.ORG", "name": "Ann"})
    assert response.status_code == 200
    sub = Subscription.objects.get()
    assert sub.subscriber.email == "Ann@example.org"
    assert sub.status == Subscription.Status.PENDING
    assert sub.consent_method == "form"
    assert sub.consent_text == "Send me news."
    assert sub.source_ip_hash and "203.0.113.9" not in sub.source_ip_hash
    assert len(sub.source_ip_hash) == 64
    # Not mailable before confirmation.
    assert list(services.list_audience(news)) == []

    assert len(mail.outbox) == 1
    link = next(line for line in mail.outbox[0].body.splitlines() if "/subscribe/confirm/" in line)
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    # A scanner following the link confirms nothing.
    assert client.get(path).status_code == 200
    sub.refresh_from_db()
    assert sub.status == Subscription.Status.PENDING
    assert client.post(path).status_code == 200
    sub.refresh_from_db()
    assert sub.status == Subscription.Status.SUBSCRIBED and sub.confirmed_at
    assert list(services.list_audience(news)) == [sub.subscriber]


@pytest.mark.django_db
def test_subscribe_form_is_quiet_about_suppressed_and_bots(news, celery_eager):
    Suppression.objects.create(email="gone@example.org", reason="complaint")
    client = Client()
    assert client.post("/subscribe/news/", {"email": "gone@example.org"}).status_code == 200
    assert client.post("/subscribe/news/", {"email": "bot@example.org", "website": "x"})
    assert Subscription.objects.count() == 0 and len(mail.outbox) == 0
    bad = client.post("/subscribe/news/", {"email": "not an address"})
    assert bad.status_code == 200 and b"valid email" in bad.content


@pytest.mark.django_db
def test_imports_and_api_must_state_consent_basis(news):
    with pytest.raises(services.AudienceError):
        services.subscribe("a@example.org", news, method="import")
    sub = services.subscribe("a@example.org", news, method="api", consent_basis="CRM opt-in")
    assert sub.status == Subscription.Status.SUBSCRIBED and len(mail.outbox) == 0


@pytest.mark.django_db
def test_bad_confirmation_link(news):
    response = Client().post("/subscribe/confirm/forged-token/")
    assert response.status_code == 400


@pytest.mark.django_db
def test_unsubscribe_get_never_unsubscribes_and_post_is_idempotent(news):
    sub = services.subscribe("b@example.org", news, method="api", consent_basis="test")
    token = services.subscriber_token(sub.subscriber_id, news.pk)
    client = Client(enforce_csrf_checks=True)
    for _ in range(3):
        assert client.get(f"/u/{token}/").status_code == 200
    sub.refresh_from_db()
    assert sub.status == Subscription.Status.SUBSCRIBED
    assert client.post(f"/u/{token}/", {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert client.post(f"/u/{token}/", {"List-Unsubscribe": "One-Click"}).status_code == 200
    sub.refresh_from_db()
    assert sub.status == Subscription.Status.UNSUBSCRIBED and sub.unsubscribed_at
    assert list(services.list_audience(news)) == []


@pytest.mark.django_db
def test_unsubscribe_links_work_for_months_and_refuse_tampering(news):
    sub = services.subscribe("c@example.org", news, method="api", consent_basis="test")
    token = services.subscriber_token(sub.subscriber_id, news.pk)
    import time_machine

    with time_machine.travel(timezone.now() + datetime.timedelta(days=300)):
        assert Client().post(f"/u/{token}/").status_code == 200
    sub.refresh_from_db()
    assert sub.status == Subscription.Status.UNSUBSCRIBED
    assert Client().post(f"/u/{token[:-2]}xx/").status_code == 400


@pytest.mark.django_db
def test_unsubscribe_from_everything_suppresses(news):
    sub = services.subscribe("d@example.org", news, method="api", consent_basis="test")
    token = services.subscriber_token(sub.subscriber_id)  # no list: everything
    Client().post(f"/u/{token}/")
    assert Suppression.objects.filter(email="d@example.org", reason="unsubscribe").exists()
    with pytest.raises(services.AudienceError):
        services.subscribe("d@example.org", news, method="api", consent_basis="test")


@pytest.mark.django_db
def test_preference_centre(news):
    other = MailingListFactory(slug="offers", name="Offers")
    sub = services.subscribe("e@example.org", news, method="api", consent_basis="test")
    token = services.subscriber_token(sub.subscriber_id, news.pk)
    client = Client()
    page = client.get(f"/preferences/{token}/")
    assert page.status_code == 200 and b"Offers" in page.content
    response = client.post(
        f"/preferences/{token}/",
        {"name": "Eve", "language": "zh-hans", "lists": [str(other.pk)]},
    )
    assert response.status_code == 200
    subscriber = Subscriber.objects.get(email="e@example.org")
    assert subscriber.language == "zh-hans" and subscriber.name == "Eve"
    statuses = dict(
        Subscription.objects.filter(subscriber=subscriber).values_list(
            "mailing_list__slug", "status"
        )
    )
    assert statuses == {"news": "unsubscribed", "offers": "subscribed"}


@pytest.mark.django_db
def test_segments_filter_tags_attributes_lists_and_engagement(news):
    offers = MailingListFactory(slug="offers")
    now = timezone.now()
    people = {}
    for key, tags, attrs, engaged in [
        ("vip_active", "vip,beijing", {"plan": "pro"}, now - datetime.timedelta(days=2)),
        ("vip_lapsed", "vip", {"plan": "pro"}, now - datetime.timedelta(days=90)),
        ("never", "", {"plan": "free"}, None),
    ]:
        s = SubscriberFactory(email=f"{key}@example.org", attributes=attrs, last_engaged_at=engaged)
        s.set_tags(tags)
        s.save()
        services.subscribe(s.email, news, method="api", consent_basis="test")
        people[key] = s
    services.subscribe("vip_active@example.org", offers, method="api", consent_basis="t")

    def members(filters):
        segment = Segment.objects.create(name="s", mailing_list=news, filters=filters)
        return {s.email.split("@")[0] for s in services.segment_audience(segment)}

    assert members({"tags_any": ["VIP"]}) == {"vip_active", "vip_lapsed"}
    assert members({"tags_all": ["vip", "beijing"]}) == {"vip_active"}
    assert members({"attributes": {"plan": "free"}}) == {"never"}
    assert members({"lists": [offers.pk]}) == {"vip_active"}
    assert members({"engagement": "engaged", "days": 30}) == {"vip_active"}
    assert members({"engagement": "lapsed", "days": 30}) == {"vip_lapsed"}
    assert members({"engagement": "never"}) == {"never"}
    Suppression.objects.create(email="vip_active@example.org", reason="complaint")
    assert members({"tags_any": ["vip"]}) == {"vip_lapsed"}
    with pytest.raises(services.AudienceError):
        members({"attributes": {"plan__contains": "x"}})


@pytest.mark.django_db
def test_resubscribe_after_unsubscribe_records_new_consent(news):
    sub = services.subscribe("f@example.org", news, method="api", consent_basis="first")
    services.unsubscribe(sub.subscriber, news)
    again = services.subscribe("f@example.org", news, method="api", consent_basis="second")
    assert again.pk == sub.pk and again.status == "subscribed"
    assert again.consent_basis == "second" and again.unsubscribed_at is None


@pytest.mark.parametrize("token", ["signed", "a bü:?#é", ""])
def test_link_urls_are_what_reverse_gives(settings, token):
    """unsubscribe_url/preferences_url skip reverse() per message: same URLs, also
    after the site's base URL changes."""
    from django.urls import NoReverseMatch, reverse

    if token == "signed":
        token = services.subscriber_token(5, 3, 9)
    for base in ("https://hub.example.com", "https://news.example.org/"):
        settings.SITE_BASE_URL = base
        for name, build in (
            ("audiences:unsubscribe", services.unsubscribe_url),
            ("audiences:preferences", services.preferences_url),
        ):
            try:
                expected = services.absolute_url(reverse(name, kwargs={"token": token}))
            except NoReverseMatch:
                with pytest.raises(NoReverseMatch):
                    build(token)
                continue
            assert build(token) == expected
            assert build(token).startswith(base.rstrip("/") + "/")


@pytest.mark.django_db
def test_mailable_ids_is_list_audience_narrowed_to_the_batch(news):
    members = subscribe_many(news, 6)
    other = MailingListFactory(slug="other", name="Other")
    outsider = subscribe_many(other, 1, prefix="outsider")[0]
    services.unsubscribe(members[1], news)
    services.suppress_address(members[2].email.upper(), "hard_bounce")  # case differs
    batch = [m.pk for m in members[:5]] + [outsider.pk]
    expected = set(services.list_audience(news).filter(pk__in=batch).values_list("pk", flat=True))
    assert services.mailable_ids(news, batch) == expected
    assert expected == {members[0].pk, members[3].pk, members[4].pk}
