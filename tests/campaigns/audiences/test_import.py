"""CSV import (checked first, then the valid rows on request; a row-numbered report;
UTF-8 and GBK; 100k rows) and export."""

import csv
import io
import time

import pytest

from campaigns.audiences import importing, services
from campaigns.audiences.models import ImportJob, Subscriber, Subscription, Suppression

from .factories import MailingListFactory


@pytest.fixture
def news(db):
    return MailingListFactory(slug="news", name="News")


def check_and_import(job: ImportJob) -> ImportJob:
    """The two steps a person takes: the report, then "Import the N valid rows"."""
    job = importing.check_import(job.pk)
    assert job.status == ImportJob.Status.CHECKED, job.errors[:3]
    assert importing.confirm_import(job)
    return importing.run_import(job.pk)


def make_job(mailing_list, data: bytes, mapping=None, encoding="auto"):
    if mapping is None:
        mapping = importing.preview_csv(data, encoding)["mapping"]
    return ImportJob.objects.create(
        mailing_list=mailing_list,
        file=data,
        encoding=encoding,
        mapping=mapping,
        consent_basis="Signed up at the 2026 trade fair stand",
    )


@pytest.mark.django_db
def test_preview_guesses_columns_and_encoding(news):
    data = "姓名,邮箱,标签\n张三,zhang@example.cn,vip\n".encode("gbk")
    preview = importing.preview_csv(data)
    assert preview["encoding"] == "gbk"
    assert preview["header"] == ["姓名", "邮箱", "标签"]
    assert preview["mapping"] == {"name": 0, "email": 1, "tags": 2}
    assert preview["rows"] == [["张三", "zhang@example.cn", "vip"]]


@pytest.mark.django_db
def test_gbk_file_imports_with_consent(news):
    data = "姓名,邮箱,语言\n张三,zhang@example.cn,zh\n李四,li@example.cn,\n".encode("gbk")
    job = check_and_import(make_job(news, data))
    assert job.status == ImportJob.Status.DONE and job.imported_rows == 2
    zhang = Subscriber.objects.get(email="zhang@example.cn")
    assert zhang.name == "张三" and zhang.language == "zh-hans"
    sub = Subscription.objects.get(subscriber=zhang)
    assert sub.status == "subscribed" and sub.consent_method == "import"
    assert sub.consent_basis.startswith("Signed up")


@pytest.mark.django_db
def test_utf8_bom_and_semicolons(news):
    data = "\ufeffEmail;Name\nann@example.org;Ann Ö\n".encode()
    job = check_and_import(make_job(news, data))
    assert job.status == "done"
    assert Subscriber.objects.get().name == "Ann Ö"


@pytest.mark.django_db
def test_bad_rows_are_reported_by_row_and_the_rest_imported_on_request(news):
    data = (
        b"email,name\n"
        b"ok@example.org,Ok\n"
        b"not-an-address,Bad\n"
        b'"multi@example.org","two\nlines"\n'
        b"also bad@example,Bad\n"
    )
    job = importing.check_import(make_job(news, data).pk)
    assert job.status == ImportJob.Status.CHECKED
    # Rows as a spreadsheet numbers them: the two-line cell is one row.
    bad = [(e["row"], e["email"], e["values"]) for e in job.errors if e["kind"] == "rejected"]
    assert bad == [
        (3, "not-an-address", ["not-an-address", "Bad"]),
        (5, "also bad@example", ["also bad@example", "Bad"]),
    ]
    assert (job.valid_rows, job.rejected_rows, job.skipped_rows) == (2, 2, 0)
    assert Subscriber.objects.count() == 0  # nothing written before the choice
    job = importing.run_import(job.pk)  # not confirmed: still nothing
    assert job.status == ImportJob.Status.CHECKED and Subscriber.objects.count() == 0
    assert importing.confirm_import(job)
    assert not importing.confirm_import(job)  # a double click imports once
    job = importing.run_import(job.pk)
    assert job.status == ImportJob.Status.DONE and job.imported_rows == 2
    assert set(Subscriber.objects.values_list("email", flat=True)) == {
        "ok@example.org",
        "multi@example.org",
    }


@pytest.mark.django_db
def test_duplicates_suppressed_and_unsubscribed_are_skipped_and_reported(news):
    Suppression.objects.create(email="gone@example.org", reason="hard_bounce")
    left = services.subscribe("left@example.org", news, method="api", consent_basis="t")
    services.unsubscribe(left.subscriber, news)
    data = b"email\nx@example.org\nX@EXAMPLE.org\ngone@example.org\nleft@example.org\n"
    job = check_and_import(make_job(news, data))
    assert job.status == "done" and job.imported_rows == 1
    problems = {e["row"]: e["problem"] for e in job.errors}
    assert problems[3].startswith("duplicate of row 2")
    assert problems[4] == "suppressed address"
    assert problems[5] == "unsubscribed from this list"
    left.refresh_from_db()
    assert left.status == "unsubscribed"  # an import never re-subscribes anyone


@pytest.mark.django_db
def test_undecodable_file_is_reported_not_raised(news):
    job = importing.check_import(make_job(news, b"\xff\xfe\x00bad", mapping={"email": 0}).pk)
    assert job.status == "failed" and job.errors[0]["row"] == 0
    assert "neither UTF-8 nor GBK" in job.errors[0]["problem"]


@pytest.mark.django_db
def test_export_has_consent_and_defuses_formulas(news):
    services.subscribe("a@example.org", news, method="api", consent_basis="=HYPERLINK(1)")
    rows = list(importing.export_rows(news))
    assert rows[0][:2] == ["email", "name"]
    assert rows[1][0] == "a@example.org" and rows[1][8] == "'=HYPERLINK(1)"


@pytest.mark.django_db
def test_100k_rows(news):
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["email", "name", "tags"])
    for i in range(100_000):
        writer.writerow([f"user{i}@example.org", f"用户 {i}", "bulk"])
    data = buf.getvalue().encode("utf-8")
    job = make_job(news, data)
    started = time.monotonic()
    job = check_and_import(job)
    elapsed = time.monotonic() - started
    assert job.status == "done", job.errors[:3]
    assert job.imported_rows == 100_000
    assert Subscription.objects.filter(mailing_list=news).count() == 100_000
    assert elapsed < 240


@pytest.mark.django_db
def test_people_already_on_the_list_are_not_promised_as_new(news):
    services.subscribe("old@example.org", news, method="api", consent_basis="t")
    job = importing.check_import(make_job(news, b"email\nold@example.org\nnew@example.org\n").pk)
    assert job.valid_rows == 1 and job.skipped_rows == 1
    assert job.errors[0]["row"] == 2 and job.errors[0]["problem"] == "already on this list"


@pytest.mark.django_db
def test_only_the_rows_the_report_called_valid_are_imported(news):
    """A row skipped in the report (here: the person had left the list) stays out even
    if it would pass by the time the import runs; one suppressed since is left out too."""
    left = services.subscribe("left@example.org", news, method="api", consent_basis="t")
    services.unsubscribe(left.subscriber, news)
    data = b"email\nleft@example.org\nlate@example.org\nok@example.org\n"
    job = importing.check_import(make_job(news, data).pk)
    assert job.valid_rows == 2
    Subscription.objects.filter(pk=left.pk).delete()  # would now pass
    services.suppress_address("late@example.org", "complaint")
    assert importing.confirm_import(job)
    job = importing.run_import(job.pk)
    emails = set(Subscription.objects.values_list("subscriber__email", flat=True))
    assert emails == {"ok@example.org"} and job.imported_rows == 1
