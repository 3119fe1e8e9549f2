"""What the import does for speed changes no result: the quick row check gives every
row of hostile files the verdict the full check gives; the rows the check keeps for the
import give what reading the file again gives; list_ids and suppressed, kept by the
importer for its own statement, end as the triggers keep them, and the triggers still
keep them for every other writer."""

import json

import pytest
from django.db import connection

from campaigns.audiences import import_apply, import_check, importing, services, triggers
from campaigns.audiences.addresses import validate_address
from campaigns.audiences.models import ImportJob, Subscriber, Subscription

from .factories import MailingListFactory
from .import_files import planted_csv

pytestmark = pytest.mark.django_db
POSTGRES = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="the kept rows and the recompute are PostgreSQL's"
)
MAPPING = {"email": 0, "name": 1, "language": 2, "timezone": 3, "tags": 4}


@pytest.fixture
def news(db):
    return MailingListFactory(slug="news", name="News")


def _hostile_values(corpora, naughty_strings) -> list[str]:
    values = list(naughty_strings)
    for path in sorted((corpora / "feedparser" / "illformed").glob("*.xml"))[:60]:
        values += path.read_bytes().decode("utf-8", "replace").splitlines()[:20]
    return values


def _hostile_file(values: list[str]) -> bytes:
    """Each value in each column of an otherwise plain row, and as an address's local
    part and domain, with and without padding and upper case."""
    import csv
    import io

    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(["email", "name", "language", "timezone", "tags"])
    plain = ["a@example.org", "Ann", "en", "Asia/Shanghai", "vip;新客"]
    for i, value in enumerate(values):
        clean = value.replace("\x00", "")
        for column in range(5):
            writer.writerow([*plain[:column], value, *plain[column + 1 :]])
        for email in (f"{clean}@example.org", f"a{i}@{clean}.org", f" {clean.upper()}@EX.ORG "):
            writer.writerow([email, clean[:250], "zh", "", clean])
    return buffer.getvalue().encode("utf-8", "surrogatepass")


def _verdicts(data: bytes) -> list[tuple]:
    _header, rows = import_check.checked_rows(data, "utf-8", MAPPING)
    return [
        (row, json.dumps(values, sort_keys=True), problem and (problem["code"], problem["params"]))
        for row, _cells, values, problem in rows
    ]


def test_the_quick_row_check_gives_every_hostile_row_the_full_checks_verdict(
    corpora, naughty_strings, monkeypatch
):
    data = _hostile_file(_hostile_values(corpora, naughty_strings))
    quick = _verdicts(data)
    monkeypatch.setattr(import_check, "_quick_check", lambda mapping, width: None)
    full = _verdicts(data)
    assert len(full) > 4000 and quick == full
    # Both kinds of verdict are there: plenty of rows pass and plenty are refused.
    assert sum(1 for v in full if v[2] is None) > 1000
    assert sum(1 for v in full if v[2] is not None) > 1000


def test_the_address_pattern_accepts_only_what_the_full_check_accepts(corpora, naughty_strings):
    values = _hostile_values(corpora, naughty_strings)
    samples = values + [f"{v}@example.org" for v in values] + [f"a@{v}.org" for v in values]
    samples += ["a@example.org", "a" * 64 + "@example.org", "a" * 65 + "@example.org"]
    accepted = 0
    for sample in samples:
        if import_check.plain_address(sample):
            accepted += 1
            validate_address(sample)  # raises if the pattern accepted too much
    assert accepted > 100


def _job(mailing_list, data):
    job = ImportJob.objects.create(
        mailing_list=mailing_list, file=data, encoding="auto", mapping=MAPPING, consent_basis="t"
    )
    job = importing.check_import(job.pk)
    assert job.status == ImportJob.Status.CHECKED, job.errors[:3]
    assert importing.confirm_import(job)
    return job


def _kept(job_id) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [import_apply.kept_table(job_id)])
        return cursor.fetchone()[0]


def _state():
    return sorted(
        Subscriber.objects.values_list("email", "name", "tags", "list_ids", "suppressed")
    ), sorted(Subscription.objects.values_list("subscriber__email", "mailing_list_id", "status"))


@POSTGRES
@pytest.mark.parametrize("lost", [False, True])
def test_the_kept_rows_import_what_reading_the_file_again_imports(news, lost):
    """A database restart empties the kept table: the import then reads the file again,
    with the same result."""
    services.subscribe("user3@example.org", news, method="api", consent_basis="t")
    data, planted = planted_csv(400, bad_every=20)
    job = _job(news, data)
    assert _kept(job.pk)
    if lost:
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {import_apply.kept_table(job.pk)}")
    job = importing.run_import(job.pk)
    assert job.status == ImportJob.Status.DONE and job.imported_rows == 400 - len(planted) - 1
    assert not _kept(job.pk)
    rejected = {e["row"]: e["code"] for e in job.errors if e["kind"] == "rejected"}
    assert rejected == planted
    on_list = Subscription.objects.filter(mailing_list=news, status="subscribed")
    assert on_list.count() == 400 - len(planted)


@POSTGRES
def test_kept_rows_of_failed_finished_and_abandoned_jobs_are_dropped(news):
    import datetime

    from django.utils import timezone

    data, _planted = planted_csv(50)
    abandoned = _job(news, data)
    failed = _job(news, data)
    importing._fail(failed.pk, "crashed", {"error": "x"})
    assert _kept(abandoned.pk) and not _kept(failed.pk)
    importing.sweep_stale_imports()
    assert _kept(abandoned.pk)  # still waiting for the person's choice
    later = timezone.now() + datetime.timedelta(seconds=import_apply.KEPT_SECONDS + 60)
    ImportJob.objects.filter(pk=abandoned.pk).update(status=ImportJob.Status.CHECKED)
    importing.sweep_stale_imports(now=later)
    assert not _kept(abandoned.pk)


@POSTGRES
def test_list_ids_and_suppressed_after_an_import_are_what_the_triggers_keep(news):
    """People who existed (on other lists, unsubscribed elsewhere, suppressed) and new
    people: after the import list_ids and suppressed equal a recomputation from the
    tables, and a later subscription in the same transaction is kept by the trigger."""
    other, third = MailingListFactory(slug="other"), MailingListFactory(slug="third")
    services.subscribe("user1@example.org", other, method="api", consent_basis="t")
    services.subscribe("user2@example.org", third, method="api", consent_basis="t")
    services.subscribe("user2@example.org", other, method="api", consent_basis="t")
    gone = services.subscribe("user4@example.org", other, method="api", consent_basis="t")
    services.unsubscribe(gone.subscriber, other)
    services.suppress_address("user6@example.org", "complaint")
    data, _planted = planted_csv(200, bad_every=0)
    job = importing.run_import(_job(news, data).pk)
    assert job.status == ImportJob.Status.DONE and job.imported_rows == 199
    before = _state()
    assert dict((e, ids) for e, _n, _t, ids, _s in before[0])["user2@example.org"] == sorted(
        [news.pk, other.pk, third.pk]
    )
    triggers.reconcile(connection)
    assert _state() == before
    # The importer's setting ended with its statement: the trigger keeps list_ids again.
    services.subscribe("user7@example.org", third, method="api", consent_basis="t")
    user7 = Subscriber.objects.get(email="user7@example.org")
    assert user7.list_ids == sorted([news.pk, third.pk])
