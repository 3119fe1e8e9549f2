"""CSV import and export of subscribers.

An import is all-or-nothing: every row is validated first and any error (bad address,
missing column) rejects the whole file with a report naming each bad line; only a clean
file is applied, in one transaction. Duplicates within the file, suppressed addresses and
people who unsubscribed from the list are skipped and listed, never (re)subscribed.
Files may be UTF-8 (with or without BOM) or GBK, the usual export of Chinese Excel.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import ImportJob, MailingList, Subscriber, Subscription, Suppression, normalise_tags
from .services import normalise_email

FIELDS = ["email", "name", "language", "timezone", "tags"]
HEADER_GUESSES = {
    "email": {"email", "e-mail", "email address", "mail", "邮箱", "电子邮件", "邮件地址"},
    "name": {"name", "full name", "姓名", "名字"},
    "language": {"language", "lang", "语言"},
    "timezone": {"timezone", "time zone", "时区"},
    "tags": {"tags", "tag", "标签"},
}
LANGUAGES = {"en": "en", "zh-hans": "zh-hans", "zh": "zh-hans", "zh-cn": "zh-hans", "": ""}
MAX_REPORTED = 1000
CHUNK = 2000


class ImportFileError(ValueError):
    """The file cannot be read at all (encoding, not CSV)."""


def decode_csv(data: bytes, encoding: str = "auto") -> tuple[str, str]:
    """(text, encoding used). "auto" tries UTF-8 (BOM allowed), then GBK."""
    candidates = ["utf-8-sig", "gbk"] if encoding == "auto" else [encoding]
    for candidate in candidates:
        try:
            return data.decode(candidate), ("utf-8" if candidate == "utf-8-sig" else candidate)
        except (UnicodeDecodeError, LookupError):
            continue
    raise ImportFileError(_("The file is neither UTF-8 nor GBK text."))


def _reader(text: str):
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return csv.reader(io.StringIO(text, newline=""), dialect)


def guess_mapping(header: list[str]) -> dict[str, int]:
    mapping = {}
    for index, title in enumerate(header):
        key = title.strip().lower()
        for field, names in HEADER_GUESSES.items():
            if key in names and field not in mapping:
                mapping[field] = index
    return mapping


def preview_csv(data: bytes, encoding: str = "auto", rows: int = 5) -> dict:
    """Header, the first rows, the encoding and a guessed column mapping."""
    text, used = decode_csv(data, encoding)
    reader = _reader(text)
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise ImportFileError(_("The file is empty or not CSV.")) from exc
    sample = []
    for row in reader:
        sample.append(row)
        if len(sample) >= rows:
            break
    return {"header": header, "rows": sample, "encoding": used, "mapping": guess_mapping(header)}


def iter_rows(data: bytes, encoding: str, mapping: dict) -> Iterator[tuple[int, dict]]:
    """(line number in the file, mapped values) for every data row."""
    text, _used = decode_csv(data, encoding)
    reader = _reader(text)
    try:
        next(reader)
    except StopIteration:
        return
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        values = {}
        for field, index in mapping.items():
            index = int(index)
            values[field] = row[index].strip() if 0 <= index < len(row) else ""
        yield line, values


def validate_import(
    data: bytes, encoding: str, mapping: dict, mailing_list: MailingList, progress=None
):
    """Check every row. Returns (clean rows, errors, skipped); errors and skipped are
    lists of {"line", "email", "problem"}."""
    if "email" not in mapping:
        raise ImportFileError(_("Choose which column holds the email address."))
    suppressed = {e.lower() for e in Suppression.objects.values_list("email", flat=True)}
    unsubscribed = {
        e.lower()
        for e in Subscription.objects.filter(
            mailing_list=mailing_list, status=Subscription.Status.UNSUBSCRIBED
        ).values_list("subscriber__email", flat=True)
    }
    seen: dict[str, int] = {}
    clean, errors, skipped = [], [], []
    for count, (line, values) in enumerate(iter_rows(data, encoding, mapping), start=1):
        email = normalise_email(values.get("email", ""))
        problem = None
        try:
            validate_email(email)
        except ValidationError:
            problem = _("not a valid email address")
        language = values.get("language", "").strip().lower()
        if not problem and language not in LANGUAGES:
            problem = _("unknown language %(lang)s") % {"lang": language}
        if problem:
            errors.append(
                {"line": line, "email": values.get("email", "")[:254], "problem": problem}
            )
        elif email.lower() in seen:
            skipped.append(
                {
                    "line": line,
                    "email": email,
                    "problem": _("duplicate of line %(line)s") % {"line": seen[email.lower()]},
                }
            )
        elif email.lower() in suppressed:
            skipped.append({"line": line, "email": email, "problem": _("suppressed address")})
        elif email.lower() in unsubscribed:
            skipped.append(
                {"line": line, "email": email, "problem": _("unsubscribed from this list")}
            )
        else:
            seen[email.lower()] = line
            values["email"] = email
            values["language"] = LANGUAGES[language] or "en"
            clean.append(values)
        if progress and count % 1000 == 0:
            progress(count)
    return clean, errors, skipped


def progress_key(job_id: int) -> str:
    return f"audiences:import-progress:{job_id}"


def import_progress(job: ImportJob) -> dict:
    """Rows processed so far (from the cache while running) and the total."""
    processed = cache.get(progress_key(job.pk), job.processed_rows)
    return {"status": job.status, "processed": processed, "total": job.total_rows}


def run_import(job_id: int) -> ImportJob:
    """Validate and apply an ImportJob. All or nothing. Safe to re-run: a finished job
    returns at once, and applying twice creates nothing new."""
    job = ImportJob.objects.select_related("mailing_list").get(pk=job_id)
    if job.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED):
        return job
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)
    data = bytes(job.file)

    def progress(n):  # the cache, not the row: the apply transaction hides row updates
        cache.set(progress_key(job.pk), n, 3600)

    try:
        clean, errors, skipped = validate_import(
            data, job.encoding, job.mapping, job.mailing_list, progress
        )
    except ImportFileError as exc:
        errors, clean, skipped = [{"line": 0, "email": "", "problem": str(exc)}], [], []
    total = len(clean) + len(errors) + len(skipped)
    if errors:
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.FAILED,
            total_rows=total,
            processed_rows=total,
            errors=(errors + skipped)[:MAX_REPORTED],
            finished_at=timezone.now(),
        )
        job.refresh_from_db()
        return job
    with transaction.atomic():
        imported = _apply(job, clean, progress)
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.DONE,
        total_rows=total,
        processed_rows=total,
        imported_rows=imported,
        errors=skipped[:MAX_REPORTED],
        finished_at=timezone.now(),
    )
    cache.delete(progress_key(job.pk))
    job.refresh_from_db()
    return job


def _apply(job: ImportJob, rows: list[dict], progress) -> int:
    now = timezone.now()
    imported = 0
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        Subscriber.objects.bulk_create(
            [
                Subscriber(
                    email=r["email"],
                    name=r.get("name", "")[:200],
                    language=r["language"],
                    timezone=(r.get("timezone") or "UTC")[:64],
                    tags=normalise_tags(r.get("tags", "")),
                )
                for r in chunk
            ],
            ignore_conflicts=True,
        )
        ids = dict(
            Subscriber.objects.filter(email__in=[r["email"] for r in chunk]).values_list(
                "email", "pk"
            )
        )
        created = Subscription.objects.bulk_create(
            [
                Subscription(
                    subscriber_id=ids[r["email"]],
                    mailing_list=job.mailing_list,
                    status=Subscription.Status.SUBSCRIBED,
                    consent_at=now,
                    consent_method=Subscription.Method.IMPORT,
                    consent_basis=job.consent_basis,
                    confirmed_at=now,
                )
                for r in chunk
                if r["email"] in ids
            ],
            ignore_conflicts=True,
        )
        imported += len(created)
        progress(start + len(chunk))
    return imported


def _cell(value) -> str:
    # Spreadsheet formula injection: a cell starting with = + - @ would be executed.
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def export_rows(mailing_list: MailingList) -> Iterator[list[str]]:
    """Header then one row per subscription of the list, consent record included."""
    yield [
        "email",
        "name",
        "language",
        "timezone",
        "tags",
        "status",
        "consent_at",
        "consent_method",
        "consent_basis",
        "confirmed_at",
    ]
    qs = (
        Subscription.objects.filter(mailing_list=mailing_list)
        .select_related("subscriber")
        .order_by("pk")
    )
    for sub in qs.iterator(chunk_size=2000):
        s = sub.subscriber
        yield [
            _cell(v)
            for v in (
                s.email,
                s.name,
                s.language,
                s.timezone,
                ",".join(s.tag_list),
                sub.status,
                sub.consent_at.isoformat(),
                sub.consent_method,
                sub.consent_basis,
                sub.confirmed_at.isoformat() if sub.confirmed_at else "",
            )
        ]
