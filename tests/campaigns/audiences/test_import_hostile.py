"""Hostile CSV files: a field over csv.field_size_limit (128 KiB), any csv.Error,
undecodable bytes, NUL bytes and wrong column counts each become a row or file error
with its line, never a 500 on upload; and no job stays "checking" or "running": a crash
fails it with the reason, and a job whose worker vanished is swept as failed."""

import csv
import datetime
import io

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from django.utils import timezone

from campaigns.audiences import import_apply, importing, tasks
from campaigns.audiences.models import ImportJob, Subscriber, Subscription
from config.celery import app
from tests.factories import UserFactory

from .factories import MailingListFactory
from .test_import_report import upload

pytestmark = pytest.mark.django_db
BIG = "x" * (200 * 1024)  # a 200 KiB field


@pytest.fixture
def news(db):
    return MailingListFactory(slug="news", name="News")


@pytest.fixture
def marketer_client(client, db):
    client.force_login(UserFactory(username="mia", groups=["Marketers"]))
    return client


def make_job(mailing_list, data: bytes, mapping=None, encoding="auto"):
    return ImportJob.objects.create(
        mailing_list=mailing_list,
        file=data,
        encoding=encoding,
        mapping=mapping or {"email": 0, "name": 1},
        consent_basis="test",
    )


def test_a_200_kib_field_is_a_row_error_from_upload_to_import(
    marketer_client, news, celery_eager, django_capture_on_commit_callbacks
):
    client = marketer_client
    data = (
        "email,name\n"
        f"big@example.org,{BIG}\n"  # in the preview's first rows
        "a@example.org,Ann\n"
        f'quoted@example.org,"{BIG}\nstill the same cell"\n'
        "b@example.org,Bo\n"
    ).encode()
    with django_capture_on_commit_callbacks(execute=True):
        job = upload(client, news, data)  # the upload and mapping pages answer 200
    job.refresh_from_db()
    assert job.status == ImportJob.Status.CHECKED
    page = client.get(reverse("audiences_import_status", args=[job.pk])).content.decode()
    assert "line 2: a field is longer than 128 KiB" in page
    assert "line 4: a field is longer than 128 KiB" in page
    rejected = {p["row"] for p in job.errors if p["kind"] == "rejected"}
    assert {2, 4} <= rejected

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("audiences_import_status", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    emails = set(Subscriber.objects.values_list("email", flat=True))
    assert {"a@example.org", "b@example.org"} <= emails
    assert not emails & {"big@example.org", "quoted@example.org"}
    errors = client.get(reverse("audiences_import_errors", args=[job.pk]))
    table = list(csv.reader(io.StringIO(b"".join(errors.streaming_content).decode("utf-8-sig"))))
    assert ["2", "line 2: a field is longer than 128 KiB; the row cannot be read"] in [
        r[:2] for r in table
    ]


def test_a_200_kib_header_is_a_file_error_on_the_upload_page(marketer_client, news):
    response = marketer_client.post(
        reverse("audiences_import", args=[news.pk]),
        {
            "mailing_list": news.pk,
            "file": io.BytesIO(f"email,{BIG}\na@example.org,x\n".encode()),
            "encoding": "auto",
            "consent_basis": "fair",
        },
    )
    assert response.status_code == 200
    assert "The header row cannot be read" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_undecodable_bytes_name_their_line(news):
    data = b"email,name\na@example.org,Ann\nb@example.org,\xff\xfe\xfd\n"
    with pytest.raises(importing.ImportFileError, match="line 3"):
        importing.preview_csv(data, "utf-8")
    job = importing.check_import(make_job(news, data, encoding="utf-8").pk)
    assert job.status == ImportJob.Status.FAILED
    assert "line 3" in importing.describe(job.errors[0])


def test_nul_bytes_and_wrong_column_counts_are_row_errors(news):
    data = (
        b"name,email,tags\n"
        b"A\x00B,nul@example.org,\n"
        b"Short,short@example.org\n"  # trailing empty columns left out: fine
        b"\n"
        b"Only Name\n"
        b"W,wide@example.org,t,extra\n"
    )
    job = importing.check_import(make_job(news, data, mapping={"name": 0, "email": 1}).pk)
    reasons = {p["row"]: importing.describe(p) for p in job.errors}
    assert reasons == {
        2: "contains a NUL character",
        5: "1 column where the header has 3: no email address column",
        6: "1 more column than the header (an unquoted comma?)",
    }
    assert job.valid_rows == 1


def test_a_crash_while_importing_fails_the_job_with_the_reason(news, monkeypatch):
    data = "email,name\n" + "".join(f"p{i}@example.org,P\n" for i in range(5))
    job = importing.check_import(make_job(news, data.encode()).pk)
    assert importing.confirm_import(job)
    real_progress = importing._progress

    def progress(job):
        report = real_progress(job)

        def crash_half_way(n):
            # Both paths report progress after writing subscribers: crash there.
            if Subscriber.objects.exists():
                raise MemoryError("worker out of memory")
            report(n)

        return crash_half_way

    monkeypatch.setattr(importing, "_progress", progress)
    monkeypatch.setattr(import_apply, "CHUNK", 2)
    tasks.import_subscribers.apply(args=[job.pk])  # the task, as a worker runs it
    job = ImportJob.objects.get(pk=job.pk)
    assert job.status == ImportJob.Status.FAILED and job.finished_at
    assert "MemoryError: worker out of memory" in importing.describe(job.errors[0])
    assert not Subscription.objects.exists()  # one transaction: nothing half imported


def test_a_crash_while_checking_fails_the_job(news, monkeypatch, marketer_client):
    def sniff(self, *args, **kwargs):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(csv.Sniffer, "sniff", sniff)
    job = importing.check_import(make_job(news, b"email\na@example.org\n").pk)
    assert job.status == ImportJob.Status.FAILED
    page = marketer_client.get(reverse("audiences_import_status", args=[job.pk]))
    assert "The import stopped on an unexpected error (RecursionError" in page.content.decode()
    assert 'data-import-status="failed"' in page.content.decode()


def test_a_job_whose_worker_vanished_is_swept_as_failed(news, marketer_client):
    long_ago = timezone.now() - datetime.timedelta(
        seconds=django_settings.AUDIENCES_IMPORT_STALE_SECONDS + 60
    )
    stale = make_job(news, b"email\na@example.org\n")
    ImportJob.objects.filter(pk=stale.pk).update(
        status=ImportJob.Status.RUNNING, started_at=long_ago
    )
    checking = make_job(news, b"email\nb@example.org\n")
    ImportJob.objects.filter(pk=checking.pk).update(
        status=ImportJob.Status.CHECKING, started_at=long_ago
    )
    legacy = make_job(news, b"email\nd@example.org\n")  # from before started_at
    ImportJob.objects.filter(pk=legacy.pk).update(
        status=ImportJob.Status.RUNNING, started_at=None, created_at=long_ago
    )
    recent = make_job(news, b"email\nc@example.org\n")
    ImportJob.objects.filter(pk=recent.pk).update(
        status=ImportJob.Status.RUNNING, started_at=timezone.now()
    )
    # The beat entry names a registered task, and that task sweeps.
    entry = next(
        e
        for e in django_settings.CELERY_BEAT_SCHEDULE.values()
        if e["task"] == "campaigns.audiences.tasks.sweep_stale_imports"
    )
    app.tasks[entry["task"]].apply().get()
    for job, status in (
        (stale, "failed"),
        (checking, "failed"),
        (legacy, "failed"),
        (recent, "running"),
    ):
        job.refresh_from_db()
        assert job.status == status, job
    assert "stopped without finishing" in importing.describe(stale.errors[0])
    # A worker that comes back late (a redelivered task) imports nothing.
    importing.run_import(stale.pk)
    assert not Subscription.objects.exists()


def test_the_report_page_fails_a_stale_job_when_read(news, marketer_client):
    job = make_job(news, b"email\na@example.org\n")
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.CHECKING,
        started_at=timezone.now() - datetime.timedelta(days=1),
    )
    page = marketer_client.get(reverse("audiences_import_status", args=[job.pk])).content.decode()
    assert 'data-import-status="failed"' in page and "stopped without finishing" in page
    progress = marketer_client.get(
        reverse("audiences_import_status", args=[job.pk]), {"format": "json"}
    ).json()
    assert progress["status"] == "failed"


def test_hostile_files_from_the_corpora_never_crash_the_import(news, corpora, naughty_strings):
    """Feeds in many encodings (some deliberately broken) and the naughty strings as raw,
    unquoted lines: each file is read to a report or refused with a file error, and
    every step ends in a final state."""
    files = sorted((corpora / "feedparser" / "encoding").glob("*.xml"))
    files += sorted((corpora / "feedparser" / "illformed").glob("*.xml"))
    samples = [path.read_bytes() for path in files]
    raw = "\n".join(naughty_strings).encode("utf-8", "surrogatepass")
    samples.append(b"email,name\n" + raw)
    samples.append(b"email,name\n" + raw.replace(b"\n", b"\r"))
    samples.append(b'email,name\n"' + raw + b"\n")  # a quote never closed
    assert len(samples) > 50
    for data in samples:
        try:
            importing.preview_csv(data)
        except importing.ImportFileError:
            pass
        job = importing.check_import(make_job(news, data).pk)
        assert job.status in (ImportJob.Status.CHECKED, ImportJob.Status.FAILED)
        if job.status == ImportJob.Status.CHECKED:
            assert len(list(importing.error_rows(job))) == len(job.errors) + 1
        if importing.confirm_import(job):
            job = importing.run_import(job.pk)
            assert job.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED)
