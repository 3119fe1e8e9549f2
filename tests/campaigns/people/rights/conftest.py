"""A person the company has done everything with: a landing-page submission (name,
phone, company) with its conversion, a subscription with consent, a CSV import naming
them, a send through the real fan-out with its deliveries, an open and a click, rolled
up into the dashboards. Shared by the rights tests (erasure, export, screens)."""

import datetime

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone

from analytics import dashboards, rollups
from analytics.attribution import goal_totals
from analytics.links import get_or_create_tracked_link
from analytics.models import Event, Goal
from analytics.tokens import message_token
from campaigns.audiences import importing
from campaigns.audiences import services as audiences
from campaigns.audiences.models import ImportJob, Subscriber, Subscription
from channels.email.progress import send_progress
from content.roles import DATA_PROTECTION, sync_role_permissions
from tests.campaigns.leads.conftest import VALID, make_landing
from tests.channels.email.conftest import (  # noqa: F401 - the email tests' fixtures
    drain,
    email_account,
    email_publication,
    mailing_list,
    make_subscribers,
    no_celery,
    publish,
    smtp_server,
)

EMAIL = "Quill.Feather-77@Mail.Example.org"
LOCAL_PART = "Quill.Feather-77"
NAME = "Zhao Quillfeather"
PHONE = "+86 139 8765 4321"
COMPANY = "Featherworks Ltd"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"
LANDING_URL = "/spring-demo/"


@pytest.fixture
def roles(db):
    sync_role_permissions()
    assert Group.objects.filter(name=DATA_PROTECTION).exists()


def csv_of(*rows: str) -> bytes:
    return ("email,name\n" + "".join(f"{r}\n" for r in rows)).encode()


def run_import(to_list, data: bytes) -> ImportJob:
    mapping = importing.preview_csv(data, "auto")["mapping"]
    job = ImportJob.objects.create(
        mailing_list=to_list,
        file=data,
        encoding="auto",
        mapping=mapping,
        consent_basis="Trade fair 2026, signed form",
    )
    job = importing.check_import(job.pk)
    assert job.status == ImportJob.Status.CHECKED, job.errors[:3]
    if importing.confirm_import(job):
        job = importing.run_import(job.pk)
    job.refresh_from_db()
    return job


def post_landing(data, ip="198.51.100.7"):
    return Client(REMOTE_ADDR=ip, HTTP_USER_AGENT=FIREFOX).post(LANDING_URL, data)


@pytest.fixture
def world(settings, smtp_server, no_celery, mailing_list, email_publication, home_page):  # noqa: F811
    settings.REDIS_URL = ""  # tracking events stored at once, no queue to drain
    landing = make_landing(home_page, mailing_list=mailing_list)
    goal = Goal.objects.create(
        campaign=email_publication.campaign, name="Demo booked", kind=Goal.Kind.FORM, page=landing
    )
    answers = {
        **VALID,
        "email": EMAIL,
        "full_name": NAME,
        "phone": PHONE,
        "company": COMPANY,
        "message": f"Call {NAME} on {PHONE}",
    }
    assert post_landing(answers).status_code == 200
    person = Subscriber.objects.get(email__iexact=EMAIL)
    assert (person.name, person.attributes["phone"]) == (NAME, PHONE)
    audiences.subscribe(
        EMAIL, mailing_list, method=Subscription.Method.IMPORT, consent_basis="Signed at the fair"
    )
    others = make_subscribers(mailing_list, 3)
    # An import naming them (already on the list: a skipped row the report keeps).
    job = run_import(mailing_list, csv_of(f"{EMAIL},{NAME}", "newcomer@example.net,New Comer"))
    assert job.imported_rows == 1
    send = publish(email_publication)
    drain(send)
    _controller, handler = smtp_server
    assert EMAIL.lower() in {r.lower() for r in handler.count_by_recipient()}
    # Read a while after delivery (a click within seconds of it is a link scanner's).
    Event.objects.filter(kind__in=["send", "delivery"]).update(
        occurred_at=timezone.now() - datetime.timedelta(minutes=10)
    )
    link = get_or_create_tracked_link(
        "https://shop.example.com/sale", publication=email_publication
    )
    for subscriber in (person, others[0]):
        token = message_token(email_publication.pk, audiences.recipient_key(subscriber.pk))
        reader = Client(REMOTE_ADDR="203.0.113.9")
        assert reader.get(f"/t/o/{token}", HTTP_USER_AGENT=FIREFOX).status_code == 200
        assert reader.get(f"/t/{link.code}?m={token}", HTTP_USER_AGENT=FIREFOX).status_code == 302
    assert Event.objects.filter(kind="conversion", goal_id=goal.pk).count() == 1
    Event.objects.update(received_at=timezone.now() - datetime.timedelta(days=1))
    rollups.update_rollups()
    return {
        "person": person,
        "send": send,
        "publication": email_publication,
        "goal": goal,
        "landing": landing,
        "list": mailing_list,
        "job": job,
        "handler": handler,
    }


def figures(world) -> dict:
    """What the dashboards and the send's progress show."""
    rollups.update_rollups()
    campaign = world["publication"].campaign
    flt = dashboards.DashboardFilter.default()
    progress = send_progress(world["send"])
    today = timezone.localdate()
    return {
        "campaign": dashboards.campaign_totals(flt, campaign.pk),
        "by_channel": dashboards.campaign_by_channel(flt, campaign.pk),
        "overview": dashboards.overview_totals(flt),
        "goals": goal_totals(campaign.pk, today - datetime.timedelta(days=30), today),
        "send": (progress.total, progress.sent, progress.failed, progress.skipped),
    }
