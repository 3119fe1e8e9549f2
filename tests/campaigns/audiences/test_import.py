"""CSV import (all or nothing, line-numbered report, UTF-8 and GBK, 100k rows) and export."""

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
    job = importing.run_import(make_job(news, data).pk)
    assert job.status == ImportJob.Status.DONE and job.imported_rows == 2
    zhang = Subscriber.objects.get(email="zhang@example.cn")
    assert zhang.name == "张三" and zhang.language == "zh-hans"
    sub = Subscription.objects.get(subscriber=zhang)
    assert sub.status == "subscribed" and sub.consent_method == "import"
    assert sub.consent_basis.startswith("Signed up")


@pytest.mark.django_db
def test_utf8_bom_and_semicolons(news):
    data = "\ufeffEmail;Name\nann@example.org;Ann Ö\n".encode()
    job = importing.run_import(make_job(news, data).pk)
    assert job.status == "done"
    assert Subscriber.objects.get().name == "Ann Ö"


@pytest.mark.django_db
def test_bad_rows_reject_the_whole_file_with_line_numbers(news):
    data = (
        b"email,name\n"
        b"ok@example.org,Ok\n"
        b"not-an-address,Bad\n"
        b'"multi@example.org","two\nlines"\n'
        b"also bad@example,Bad\n"
    )
    job = importing.run_import(make_job(news, data).pk)
    assert job.status == ImportJob.Status.FAILED
    bad = {(e["line"], e["email"]) for e in job.errors if "valid" in e["problem"]}
    assert bad == {(3, "not-an-address"), (6, "also bad@example")}
    assert Subscriber.objects.count() == 0 and Subscription.objects.count() == 0


@pytest.mark.django_db
def test_duplicates_suppressed_and_unsubscribed_are_skipped_and_reported(news):
    Suppression.objects.create(email="gone@example.org", reason="hard_bounce")
    left = services.subscribe("left@example.org", news, method="api", consent_basis="t")
    services.unsubscribe(left.subscriber, news)
    data = b"email\nx@example.org\nX@EXAMPLE.org\ngone@example.org\nleft@example.org\n"
    job = importing.run_import(make_job(news, data).pk)
    assert job.status == "done" and job.imported_rows == 1
    problems = {e["line"]: e["problem"] for e in job.errors}
    assert problems[3].startswith("duplicate of line 2")
    assert problems[4] == "suppressed address"
    assert problems[5] == "unsubscribed from this list"
    left.refresh_from_db()
    assert left.status == "unsubscribed"  # an import never re-subscribes anyone


@pytest.mark.django_db
def test_undecodable_file_is_reported_not_raised(news):
    job = importing.run_import(make_job(news, b"\xff\xfe\x00bad", mapping={"email": 0}).pk)
    assert job.status == "failed" and job.errors[0]["line"] == 0


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
    job = importing.run_import(job.pk)
    elapsed = time.monotonic() - started
    assert job.status == "done", job.errors[:3]
    assert job.imported_rows == 100_000
    assert Subscription.objects.filter(mailing_list=news).count() == 100_000
    assert elapsed < 240
