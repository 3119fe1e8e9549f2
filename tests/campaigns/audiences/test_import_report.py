"""Import and export by clicking: the buttons on the list and subscriber pages, the
upload -> columns -> report -> "Import the N valid rows" flow through HTTP, the error CSV,
internationalised addresses, and hostile rows (each imported or reported, none lost)."""

import csv
import io
import re

import pytest
from django.urls import reverse

from campaigns.audiences import importing, services
from campaigns.audiences.models import ImportJob, Subscriber, Subscription
from tests.factories import UserFactory

from .factories import MailingListFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def news(db):
    return MailingListFactory(slug="news", name="News")


@pytest.fixture
def marketer(db):
    return UserFactory(username="mia", groups=["Marketers"])


def test_list_and_subscriber_pages_have_import_and_export_buttons(client, news, marketer):
    client.force_login(marketer)
    import_url = reverse("audiences_import", args=[news.pk])
    export_url = reverse("audiences_export", args=[news.pk])
    listing = client.get(reverse("mailinglist:index")).content.decode()
    assert import_url in listing and export_url in listing
    edit = client.get(reverse("mailinglist:edit", args=[news.pk])).content.decode()
    assert import_url in edit and export_url in edit and "Import CSV" in edit
    subscribers = client.get(reverse("subscriber:index")).content.decode()
    assert reverse("audiences_import_any") in subscribers
    assert reverse("audiences_export_all") in subscribers
    # The menu leads to both listings.
    home = client.get(reverse("wagtailadmin_home")).content.decode()
    assert reverse("mailinglist:index") in home and reverse("subscriber:index") in home


def test_people_without_audience_permissions_get_no_import(client, news):
    client.force_login(UserFactory(username="lee", groups=["Leadership"]))
    for url in (
        reverse("audiences_import", args=[news.pk]),
        reverse("audiences_import_any"),
        reverse("audiences_export", args=[news.pk]),
    ):
        assert client.get(url).status_code in (302, 403)


def upload(client, news, data: bytes, name="people.csv"):
    """Steps 1 and 2 as a person clicks them; returns the job, checked."""
    page = client.get(reverse("audiences_import", args=[news.pk])).content.decode()
    assert "<p><label" not in page and "w-field" in page  # Wagtail's field layout
    response = client.post(
        reverse("audiences_import", args=[news.pk]),
        {
            "mailing_list": news.pk,
            "file": io.BytesIO(data),
            "encoding": "auto",
            "consent_basis": "Trade fair sign-up sheet",
        },
        format="multipart",
    )
    assert response.status_code == 200, response.content.decode()[:2000]
    page = response.content.decode()
    assert 'name="map_email"' in page
    job = ImportJob.objects.latest("pk")
    mapping = {f"map_{k}": v for k, v in job.mapping.items()}
    response = client.post(
        reverse("audiences_import_any"), {"step": "map", "job": job.pk, **mapping}
    )
    assert response.status_code == 302
    job.refresh_from_db()
    return job


@pytest.fixture
def flow(client, marketer, celery_eager, django_capture_on_commit_callbacks):
    client.force_login(marketer)

    def run(news, data):
        with django_capture_on_commit_callbacks(execute=True):
            job = upload(client, news, data)
        job.refresh_from_db()
        return job

    return run


FILE = (
    "邮箱,姓名,标签\n"
    "a@example.org,甲,vip\n"
    "not-an-address,乙,\n"
    "王芳@example.com,王芳,vip\n"
    "c@example.org,丙,x,extra one,extra two\n"
    "A@EXAMPLE.org,重复,\n"
    "d@例子.中国,丁,\n"
)


@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
def test_report_then_import_the_valid_rows(
    client, news, flow, django_capture_on_commit_callbacks, encoding
):
    job = flow(news, FILE.encode(encoding))
    assert job.status == ImportJob.Status.CHECKED and job.encoding == encoding
    assert Subscription.objects.count() == 0  # nothing written before the choice
    page = client.get(reverse("audiences_import_status", args=[job.pk])).content.decode()
    assert "3 valid rows" in page and "1 row skipped" in page and "2 rows rejected" in page
    assert "Import the 3 valid rows" in page
    # Rows in the file's order, each with its reason and its values.
    rows = re.findall(r"<tr class=\"import-report__row--(\w+)\">\s*<td>(\d+)</td>", page)
    assert rows == [("rejected", "3"), ("rejected", "5"), ("skipped", "6")]
    assert "2 more columns than the header" in page and "extra one" in page
    assert "duplicate of row 2" in page
    # The bar is split: never all green when rows were rejected.
    assert "import-report__bar-part--rejected" in page
    assert 'import-report__bar-part--valid" style="width: 50.0%"' in page

    errors = client.get(reverse("audiences_import_errors", args=[job.pk]))
    body = b"".join(errors.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf") and errors["Content-Type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert table[0] == ["row", "reason", "邮箱", "姓名", "标签"]
    assert [r[0] for r in table[1:]] == ["3", "5", "6"]
    assert table[2][2:] == ["c@example.org", "丙", "x", "extra one", "extra two"]

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("audiences_import_status", args=[job.pk]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and job.imported_rows == 3
    assert set(Subscriber.objects.values_list("email", flat=True)) == {
        "a@example.org",
        "王芳@example.com",
        "d@例子.中国",
    }
    page = client.get(reverse("audiences_import_status", args=[job.pk])).content.decode()
    assert "3 rows imported" in page and "Import the" not in page
    # A second click imports nothing more.
    client.post(reverse("audiences_import_status", args=[job.pk]))
    assert Subscription.objects.count() == 3


def test_a_chinese_reader_reads_the_reasons_in_chinese(client, news, flow, marketer):
    """The check runs in a worker, in nobody's language: each reader gets the reasons
    in their own, in the report and in the error CSV."""
    from wagtail.users.models import UserProfile

    job = flow(news, FILE.encode("utf-8"))
    profile = UserProfile.get_for_user(marketer)
    profile.preferred_language = "zh-hans"
    profile.save()

    page = client.get(reverse("audiences_import_status", args=[job.pk])).content.decode()
    errors = client.get(reverse("audiences_import_errors", args=[job.pk]))
    table = list(csv.reader(io.StringIO(b"".join(errors.streaming_content).decode("utf-8-sig"))))

    reasons = [row[1] for row in table[1:]]
    assert "not a valid email address" not in page and "duplicate of row" not in page
    assert all(re.search(r"[\u4e00-\u9fff]", reason) for reason in reasons), reasons
    assert all(reason in page for reason in reasons)


def test_a_file_with_no_valid_row_offers_no_import(client, news, flow):
    job = flow(news, b"email\nnope\n")
    page = client.get(reverse("audiences_import_status", args=[job.pk])).content.decode()
    assert "no row to import" in page and "Import the" not in page
    assert "import-report__bar-part--valid" not in page
    assert not importing.confirm_import(job)


def test_export_of_one_list_and_of_all_opens_in_excel(client, news, marketer):
    other = MailingListFactory(slug="other")
    services.subscribe("王芳@example.com", news, method="api", consent_basis="fair")
    services.subscribe("b@example.org", other, method="api", consent_basis="fair")
    client.force_login(marketer)
    one = b"".join(client.get(reverse("audiences_export", args=[news.pk])).streaming_content)
    assert one.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(one.decode("utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == ["王芳@example.com"]
    every = b"".join(client.get(reverse("audiences_export_all")).streaming_content)
    rows = list(csv.reader(io.StringIO(every.decode("utf-8-sig"))))
    assert rows[0][-1] == "list"
    assert sorted((r[0], r[-1]) for r in rows[1:]) == [
        ("b@example.org", "other"),
        ("王芳@example.com", "news"),
    ]


def test_hostile_rows_are_each_imported_or_reported(news, naughty_strings):
    """Every naughty string as an address and as a name: nothing crashes, and every row
    is either imported or named in the report and the error CSV."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["email", "name", "tags", "language", "timezone"])
    for i, text in enumerate(naughty_strings):
        writer.writerow([text, f"Name {i}", "", "", ""])
        writer.writerow([f"n{i}@example.org", text, text[:50], "", ""])
    data = buf.getvalue().encode("utf-8")
    rows = list(csv.reader(io.StringIO(buf.getvalue(), newline="")))[1:]
    expected = {n for n, cells in enumerate(rows, start=2) if any(c.strip() for c in cells)}
    job = ImportJob.objects.create(
        mailing_list=news,
        file=data,
        encoding="auto",
        mapping={"email": 0, "name": 1, "tags": 2},
        consent_basis="test",
    )
    job = importing.check_import(job.pk)
    assert job.status == ImportJob.Status.CHECKED, job.errors[:1]
    assert importing.confirm_import(job)
    job = importing.run_import(job.pk)
    assert job.status == ImportJob.Status.DONE
    error_table = list(importing.error_rows(job))[1:]
    reported = {int(r[0]) for r in error_table}
    assert job.imported_rows + len(reported) == len(expected)
    assert reported <= expected
    imported = set(Subscriber.objects.values_list("email", flat=True))
    for n in expected - reported:
        email = services.normalise_email(rows[n - 2][0])
        assert email in imported, (n, rows[n - 2])
    # The plain rows with a hostile name: a name is only refused for a reason.
    names = {r[0]: r[1] for r in error_table if r[1] != "not a valid email address"}
    assert all(reason for reason in names.values())
