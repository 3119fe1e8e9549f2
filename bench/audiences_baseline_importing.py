"""main's campaigns/audiences/importing.py at de5454c (before issue 19), frozen as the
baseline of bench.audiences: relative imports made absolute, and `_apply` sets tags
through Subscriber.set_tags (the storage of tags changed). Nothing else changed.

CSV import and export of subscribers.

An import takes two steps and writes nothing before the second. Checking reads every
row and stores a report: rows that cannot be imported (a bad address, an unknown
language or time zone, more columns than the header) are rejected with their row number
and reason; duplicates within the file, suppressed addresses and people who left the
list are skipped, never (re)subscribed. Then the person chooses to import the valid
rows, which happens in one transaction; the rest can be downloaded as an error CSV.
Files may be UTF-8 (with or without BOM) or GBK, the usual export of Chinese Excel.

Hostile files are reported, never a crash: a row the CSV reader refuses (a field over
csv.field_size_limit, 128 KiB, or any other csv.Error) is a rejected row with its row
and line number, and reading goes on with the next line; a file that cannot be decoded
or whose header cannot be read is a file error naming the line. A job never stays
"checking" or "running": any exception marks it failed with the reason, and
sweep_stale_imports (a beat task, and every read of the job's progress) fails a job
whose worker vanished (killed, time limit) once it has run longer than
AUDIENCES_IMPORT_STALE_SECONDS.
"""

from __future__ import annotations

import csv
import datetime
import functools
import io
import logging
import zoneinfo
from collections.abc import Iterator

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from campaigns.audiences.addresses import validate_address
from campaigns.audiences.models import (
    ImportJob,
    MailingList,
    Subscriber,
    Subscription,
    Suppression,
    normalise_tags,
)
from campaigns.audiences.services import normalise_email

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
REJECTED, SKIPPED = "rejected", "skipped"
CHUNK = 2000

logger = logging.getLogger(__name__)


class ImportFileError(ValueError):
    """The file cannot be read at all (encoding, not CSV)."""


def _line_of(data: bytes, position: int) -> int:
    return data.count(b"\n", 0, position) + 1


def decode_csv(data: bytes, encoding: str = "auto") -> tuple[str, str]:
    """(text, encoding used). "auto" tries UTF-8 (BOM allowed), then GBK. A file that
    decodes in neither is a file error naming the first line that does not."""
    candidates = ["utf-8-sig", "gbk"] if encoding == "auto" else [encoding]
    first_bad = None
    for candidate in candidates:
        try:
            return data.decode(candidate), ("utf-8" if candidate == "utf-8-sig" else candidate)
        except UnicodeDecodeError as exc:
            first_bad = exc.start if first_bad is None else min(first_bad, exc.start)
        except LookupError:
            continue
    if first_bad is None:
        raise ImportFileError(_("The file is neither UTF-8 nor GBK text."))
    if encoding == "auto":
        message = _("The file is neither UTF-8 nor GBK text (line %(line)s cannot be read).")
    else:
        message = _("The file is not %(encoding)s text (line %(line)s cannot be read).")
    raise ImportFileError(message % {"line": _line_of(data, first_bad), "encoding": encoding})


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


def _csv_problem(exc: csv.Error, line: int) -> tuple[str, dict]:
    """A csv.Error as a REASONS code and its values."""
    if "field larger than field limit" in str(exc):
        return "too_long", {"line": line, "kib": csv.field_size_limit() // 1024}
    return "unreadable", {"line": line, "detail": str(exc)[:200]}


def _records(reader) -> Iterator[tuple[list[str], tuple[str, dict] | None]]:
    """The reader's records as (cells, None), and a record it refuses as ([], problem):
    reading goes on with the next line, so one bad field costs one row, not the file."""
    while True:
        line = reader.line_num
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield [], _csv_problem(exc, reader.line_num or line + 1)
            if reader.line_num == line:  # consumed nothing: the reader cannot go on
                return
            continue
        yield cells, None


def _header(reader) -> list[str]:
    try:
        return next(reader)
    except StopIteration:
        return []
    except csv.Error as exc:
        code, params = _csv_problem(exc, reader.line_num or 1)
        raise ImportFileError(
            _("The header row cannot be read: %(reason)s") % {"reason": describe_code(code, params)}
        ) from exc


def preview_csv(data: bytes, encoding: str = "auto", rows: int = 5) -> dict:
    """Header, the first rows, the encoding and a guessed column mapping. A first row
    the reader refuses is left out of the sample (the report names it)."""
    text, used = decode_csv(data, encoding)
    reader = _reader(text)
    header = _header(reader)
    if not header:
        raise ImportFileError(_("The file is empty or not CSV."))
    sample = []
    for cells, problem in _records(reader):
        if problem is None:
            sample.append(cells)
        if len(sample) >= rows or reader.line_num > 1000:
            break
    return {"header": header, "rows": sample, "encoding": used, "mapping": guess_mapping(header)}


def read_rows(
    data: bytes, encoding: str
) -> tuple[list[str], Iterator[tuple[int, list[str], tuple[str, dict] | None]]]:
    """(header, iterator of (row number, cells, problem)) with rows numbered as a
    spreadsheet shows them: the header is row 1, and a cell holding a line break is
    still one row. `problem` is set (a REASONS code and its values, cells empty) for a
    record the CSV reader refused."""
    text, _used = decode_csv(data, encoding)
    reader = _reader(text)
    header = _header(reader)
    if not header:
        return [], iter(())
    return header, ((n, cells, problem) for n, (cells, problem) in enumerate(_records(reader), 2))


# Why a row was not imported, kept as a code and its values and put into words when a
# person reads the report or the error CSV: the check runs in a worker, in nobody's
# language, and each reader gets their own.
REASONS = {
    "extra_columns": lambda p: (
        ngettext(
            "%(n)s more column than the header (an unquoted comma?)",
            "%(n)s more columns than the header (an unquoted comma?)",
            p["n"],
        )
        % p
    ),
    "nul": lambda p: _("contains a NUL character"),
    "too_long": lambda p: (
        _("line %(line)s: a field is longer than %(kib)s KiB; the row cannot be read") % p
    ),
    "unreadable": lambda p: _("line %(line)s cannot be read as CSV (%(detail)s)") % p,
    "short_row": lambda p: (
        ngettext(
            "%(n)s column where the header has %(width)s: no email address column",
            "%(n)s columns where the header has %(width)s: no email address column",
            p["n"],
        )
        % p
    ),
    "email": lambda p: _("not a valid email address"),
    "language": lambda p: _("unknown language %(lang)s") % p,
    "timezone": lambda p: _("unknown time zone %(zone)s") % p,
    "long_name": lambda p: _("name longer than 200 characters"),
    "long_tags": lambda p: _("tags longer than 1000 characters"),
    "duplicate": lambda p: _("duplicate of row %(row)s") % p,
    "suppressed": lambda p: _("suppressed address"),
    "unsubscribed": lambda p: _("unsubscribed from this list"),
    "already": lambda p: _("already on this list"),
    # File-wide reasons of a failed job.
    "crashed": lambda p: _("The import stopped on an unexpected error (%(error)s).") % p,
    "stale": lambda p: (
        ngettext(
            "The import stopped without finishing (no result after %(n)s minute).",
            "The import stopped without finishing (no result after %(n)s minutes).",
            p["n"],
        )
        % p
    ),
}


def describe(problem: dict) -> str:
    """A reported row's reason in the active language."""
    words = REASONS.get(problem.get("code", ""))
    return words(problem.get("params") or {}) if words else problem.get("problem", "")


def describe_code(code: str, params: dict) -> str:
    return describe({"code": code, "params": params})


def _problem(
    row: int, cells: list[str], kind: str, code: str, params=None, email: str = "", text=""
) -> dict:
    # The report keeps the row as it was read (bounded, so a hostile file cannot bloat
    # the job row); the error CSV reads the file again for the full values. "problem"
    # is the reason in the worker's language, for logs and older readers.
    params = {k: _storable(v) if isinstance(v, str) else v for k, v in (params or {}).items()}
    problem = {"code": code, "params": params}
    return {
        "row": row,
        "kind": kind,
        **problem,
        "problem": _storable(text or describe(problem)),
        "email": _storable(email[:254]),
        "values": [_storable(c[:200]) for c in cells[:30]],
    }


def _storable(text: str) -> str:
    # PostgreSQL's jsonb cannot hold U+0000: the report shows a replacement character.
    return text.replace("\x00", "\ufffd")


def _row_problem(
    values: dict, cells: list[str], width: int, email_index: int
) -> tuple[str, dict] | None:
    """Why a row cannot be imported at all (a REASONS code and its values), or None."""
    if email_index >= len(cells) and len(cells) < width:
        # Trailing empty columns may be left out; the address may not.
        return "short_row", {"n": len(cells), "width": width}
    extra = [c for c in cells[width:] if c.strip()]
    if extra:
        # An unquoted comma in a name shifts every later column: refusing the row is
        # safer than importing an address from the wrong column.
        return "extra_columns", {"n": len(extra)}
    if any("\x00" in v for v in values.values()):
        return "nul", {}
    try:
        validate_address(values["email"])
    except ValidationError:
        return "email", {}
    if values.get("language", "").strip().lower() not in LANGUAGES:
        return "language", {"lang": values["language"][:50]}
    zone = values.get("timezone", "")
    if zone and zone not in _zones():
        return "timezone", {"zone": zone[:64]}
    if len(values.get("name", "")) > 200:
        return "long_name", {}
    if len(normalise_tags(values.get("tags", ""))) > 1000:
        return "long_tags", {}
    return None


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_import(
    data: bytes,
    encoding: str,
    mapping: dict,
    mailing_list: MailingList,
    progress=None,
    recheck: bool = False,
) -> tuple[list[str], list[dict], list[dict]]:
    """Check every row, writing nothing. Returns (header, clean rows, problems): the
    problems in the file's order, each {"row", "kind", "problem", "email", "values"},
    kind "rejected" (cannot be imported) or "skipped" (a duplicate in the file, a
    suppressed address, someone who left the list: never (re)subscribed; someone
    already on the list). `recheck` is the check an import runs just before writing:
    people already on the list are then the ones a re-run of the same import added,
    and stay valid (applying them again changes nothing)."""
    if "email" not in mapping:
        raise ImportFileError(_("Choose which column holds the email address."))
    header, rows = read_rows(data, encoding)
    if not header:
        raise ImportFileError(_("The file is empty or not CSV."))
    suppressed = {e.lower() for e in Suppression.objects.values_list("email", flat=True)}
    on_list: dict[str, str] = {
        email.lower(): status
        for email, status in Subscription.objects.filter(mailing_list=mailing_list).values_list(
            "subscriber__email", "status"
        )
    }
    seen: dict[str, int] = {}
    clean, problems = [], []
    for count, (row, cells, unreadable) in enumerate(rows, start=1):
        if progress and count % 1000 == 0:
            progress(count)
        if unreadable:
            problems.append(_problem(row, cells, REJECTED, *unreadable))
            continue
        if not any(cell.strip() for cell in cells):
            continue  # an empty row holds nothing to lose
        values = {
            field: (cells[int(index)].strip() if 0 <= int(index) < len(cells) else "")
            for field, index in mapping.items()
        }
        email = normalise_email(values.get("email", ""))
        values["email"] = email
        problem = _row_problem(values, cells, len(header), int(mapping["email"]))
        key = email.lower()
        if problem:
            problems.append(_problem(row, cells, REJECTED, *problem, email=email))
        elif key in seen:
            duplicate = {"row": seen[key]}
            problems.append(_problem(row, cells, SKIPPED, "duplicate", duplicate, email=email))
        elif key in suppressed:
            problems.append(_problem(row, cells, SKIPPED, "suppressed", email=email))
        elif on_list.get(key) == Subscription.Status.UNSUBSCRIBED:
            problems.append(_problem(row, cells, SKIPPED, "unsubscribed", email=email))
        elif key in on_list and not recheck:
            # Counted apart, so "Import the N valid rows" promises only new people.
            problems.append(_problem(row, cells, SKIPPED, "already", email=email))
        else:
            seen[key] = row
            values["row"] = row
            values["language"] = LANGUAGES[values.get("language", "").strip().lower()] or "en"
            clean.append(values)
    return header, clean, problems


def progress_key(job_id: int) -> str:
    return f"audiences:import-progress:{job_id}"


def import_progress(job: ImportJob) -> dict:
    """Rows processed so far (from the cache while running) and the total. A job whose
    worker vanished is failed here too, so its page never polls forever."""
    if job.status in WORKING and sweep_stale_imports(job_id=job.pk):
        job.refresh_from_db()
    processed = cache.get(progress_key(job.pk), job.processed_rows)
    return {"status": job.status, "processed": processed, "total": job.total_rows}


WORKING = (ImportJob.Status.CHECKING, ImportJob.Status.RUNNING)


def _fail(job_id: int, code: str, params: dict) -> None:
    """Mark a job failed with a file-wide reason (kept as a code, worded for each
    reader), whatever step it was in."""
    ImportJob.objects.filter(pk=job_id).exclude(status=ImportJob.Status.DONE).update(
        status=ImportJob.Status.FAILED,
        errors=[_problem(0, [], REJECTED, code, params)],
        finished_at=timezone.now(),
    )
    cache.delete(progress_key(job_id))


def _crashed(job_id: int, exc: BaseException) -> None:
    logger.exception("Subscriber import %s failed", job_id, extra={"import_job_id": job_id})
    _fail(job_id, "crashed", {"error": f"{type(exc).__name__}: {exc}"[:300]})


def sweep_stale_imports(now: datetime.datetime | None = None, job_id: int | None = None) -> int:
    """Fail the jobs still checking or importing AUDIENCES_IMPORT_STALE_SECONDS after
    their step started: the worker that had them is gone (killed, out of memory, past
    the task's hard time limit). Returns how many were failed."""
    now = now or timezone.now()
    seconds = settings.AUDIENCES_IMPORT_STALE_SECONDS
    cutoff = now - datetime.timedelta(seconds=seconds)
    # Jobs from before started_at existed count from their creation.
    old = Q(started_at__lt=cutoff) | Q(started_at__isnull=True, created_at__lt=cutoff)
    stale = ImportJob.objects.filter(old, status__in=WORKING)
    if job_id is not None:
        stale = stale.filter(pk=job_id)
    failed = 0
    for pk in list(stale.values_list("pk", flat=True)):
        # Re-checked in the update: a job that finished meanwhile keeps its result.
        failed += ImportJob.objects.filter(old, pk=pk, status__in=WORKING).update(
            status=ImportJob.Status.FAILED,
            errors=[_problem(0, [], REJECTED, "stale", {"n": max(1, seconds // 60)})],
            finished_at=now,
        )
        cache.delete(progress_key(pk))
    if failed:
        logger.warning("Failed %s stale subscriber import(s)", failed)
    return failed


def _progress(job: ImportJob):
    def progress(n):  # the cache, not the row: the apply transaction hides row updates
        cache.set(progress_key(job.pk), n, 3600)

    return progress


def _check(job: ImportJob, progress, recheck: bool = False):
    """Validate the job's file: (clean rows, problems), or None (and the job marked
    failed) when it is unreadable."""
    try:
        header, clean, problems = validate_import(
            bytes(job.file), job.encoding, job.mapping, job.mailing_list, progress, recheck
        )
    except ImportFileError as exc:
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.FAILED,
            errors=[_problem(0, [], REJECTED, "file", text=str(exc))],
            finished_at=timezone.now(),
        )
        return None
    if not recheck:
        rejected = sum(1 for p in problems if p["kind"] == REJECTED)
        ImportJob.objects.filter(pk=job.pk).update(
            header=[_storable(h[:200]) for h in header[:30]],
            total_rows=len(clean) + len(problems),
            valid_rows=len(clean),
            rejected_rows=rejected,
            skipped_rows=len(problems) - rejected,
            # Every problem row is kept (the error CSV lists them all); only the first
            # ones keep their values, which the report shows.
            errors=[p if i < MAX_REPORTED else {**p, "values": []} for i, p in enumerate(problems)],
        )
    return clean, problems


def check_import(job_id: int) -> ImportJob:
    """Step one: read and check every row and store the report; nothing is imported.
    The job then waits (CHECKED) for the person to choose to import the valid rows."""
    job = ImportJob.objects.select_related("mailing_list").get(pk=job_id)
    if job.status not in (ImportJob.Status.PENDING, ImportJob.Status.CHECKING):
        return job
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.CHECKING, started_at=timezone.now()
    )
    try:
        if _check(job, _progress(job)) is not None:
            ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.CHECKING).update(
                status=ImportJob.Status.CHECKED, processed_rows=0
            )
    except Exception as exc:  # noqa: BLE001 - whatever it was, the job must not stay checking
        _crashed(job.pk, exc)
    cache.delete(progress_key(job.pk))
    job.refresh_from_db()
    return job


def confirm_import(job: ImportJob) -> bool:
    """Step two, the person's choice: a checked job with valid rows may now import them.
    False when it was already confirmed (a double click) or has nothing to import."""
    return bool(
        ImportJob.objects.filter(
            pk=job.pk, status=ImportJob.Status.CHECKED, valid_rows__gt=0
        ).update(status=ImportJob.Status.RUNNING, started_at=timezone.now())
    )


def run_import(job_id: int) -> ImportJob:
    """Import the valid rows of a confirmed job (checked again: an address suppressed
    since the report is still skipped), in one transaction. Does nothing unless the job
    was confirmed; safe to re-run, as applying twice creates nothing new."""
    job = ImportJob.objects.select_related("mailing_list").get(pk=job_id)
    # The step's clock starts when a worker takes it, not when it was queued.
    started = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.RUNNING).update(
        started_at=timezone.now()
    )
    if not started:
        job.refresh_from_db()
        return job
    try:
        _run(job)
    except Exception as exc:  # noqa: BLE001 - whatever it was, the job must not stay running
        # The transaction rolled back: nothing of this job was imported.
        _crashed(job.pk, exc)
    cache.delete(progress_key(job.pk))
    job.refresh_from_db()
    return job


def _run(job: ImportJob) -> None:
    progress = _progress(job)
    checked = _check(job, progress, recheck=True)
    if checked is None:
        return
    # Only rows the report called valid: the person chose those, not rows that would
    # pass now for a reason the report did not show.
    reported = {p["row"] for p in job.errors}
    clean = [values for values in checked[0] if values["row"] not in reported]
    with transaction.atomic():
        imported = _apply(job, clean, progress)
        # In the transaction: a job swept as stale meanwhile imports nothing.
        done = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.RUNNING).update(
            status=ImportJob.Status.DONE,
            processed_rows=len(clean),
            imported_rows=imported,
            finished_at=timezone.now(),
        )
        if not done:
            transaction.set_rollback(True)


def error_rows(job: ImportJob) -> Iterator[list[str]]:
    """The rows not imported, for the error CSV: header (row, reason, the file's own
    columns), then each reported row with its full original values, in the file's
    order. The cells are read from the file again: the report keeps them bounded."""
    header, rows = read_rows(bytes(job.file), job.encoding)
    reasons = {p["row"]: describe(p) for p in job.errors}
    yield [_("row"), _("reason"), *header]
    for row, cells, _unreadable in rows:
        if row in reasons:
            yield [str(row), reasons[row], *(_cell(c) for c in cells)]


def _apply(job: ImportJob, rows: list[dict], progress) -> int:
    now = timezone.now()
    imported = 0
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        people = []
        for r in chunk:
            person = Subscriber(
                email=r["email"],
                name=r.get("name", "")[:200],
                language=r["language"],
                timezone=(r.get("timezone") or "UTC")[:64],
            )
            person.set_tags(r.get("tags", ""))
            people.append(person)
        Subscriber.objects.bulk_create(people, ignore_conflicts=True)
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


def export_rows(mailing_list: MailingList | None = None) -> Iterator[list[str]]:
    """Header then one row per subscription of the list (of every list, with a "list"
    column, when `mailing_list` is None), consent record included."""
    header = [
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
    yield header if mailing_list else [*header, "list"]
    qs = Subscription.objects.select_related("subscriber", "mailing_list").order_by("pk")
    if mailing_list is not None:
        qs = qs.filter(mailing_list=mailing_list)
    for sub in qs.iterator(chunk_size=2000):
        s = sub.subscriber
        row = [
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
        ]
        if mailing_list is None:
            row.append(sub.mailing_list.slug)
        yield [_cell(v) for v in row]
