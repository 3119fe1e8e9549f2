"""CSV import of subscribers: the job's two steps.

An import takes two steps and writes nothing before the second. Checking reads every
row and stores a report: rows that cannot be imported (a bad address, an unknown
language or time zone, more columns than the header) are rejected with their row number
and reason; duplicates within the file, suppressed addresses and people who left the
list are skipped, never (re)subscribed. Then the person chooses to import the valid
rows, which happens in one transaction; the rest can be downloaded as an error CSV.
Reading the file and the reasons are in import_reading.py, the row checks in
import_check.py, applying (COPY and set-based SQL on PostgreSQL, a plain path on
SQLite) in import_apply.py, export in csv_export.py.

A job never stays "checking" or "running": any exception marks it failed with the
reason, and sweep_stale_imports (a beat task, and every read of the job's progress)
fails a job whose worker vanished (killed, time limit) once it has run longer than
AUDIENCES_IMPORT_STALE_SECONDS.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterator

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from . import changes, import_apply
from .csv_export import _cell, export_rows
from .import_check import FIELDS, LANGUAGES, checked_rows, validate_import
from .import_reading import (
    REASONS,
    REJECTED,
    SKIPPED,
    ImportFileError,
    decode_csv,
    describe,
    describe_code,
    guess_mapping,
    preview_csv,
    read_rows,
    storable,
)
from .import_reading import problem_row as _problem
from .models import ImportJob

__all__ = [
    "FIELDS",
    "LANGUAGES",
    "MAX_REPORTED",
    "REASONS",
    "REJECTED",
    "SKIPPED",
    "ImportFileError",
    "check_import",
    "confirm_import",
    "decode_csv",
    "describe",
    "describe_code",
    "error_rows",
    "export_rows",
    "guess_mapping",
    "import_progress",
    "preview_csv",
    "read_rows",
    "run_import",
    "sweep_stale_imports",
    "validate_import",
]

MAX_REPORTED = 1000

logger = logging.getLogger(__name__)


# The file is read from the database in pieces of this size: fetched with the job, a
# 50 MB file (a million rows) passed through as hex text, a bytea and a memoryview at
# once, and an import's worker peaked at 800 MB before reading a row.
FILE_CHUNK = 8 << 20


def _jobs():
    """Import jobs without their file (job_file reads it when it is needed)."""
    return ImportJob.objects.select_related("mailing_list").defer("file")


def job_file(job_id: int) -> bytes:
    """The job's uploaded file, read in FILE_CHUNK pieces (see FILE_CHUNK)."""
    table = ImportJob._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT coalesce(length(file), 0) FROM {table} WHERE id = %s", [job_id])
        found = cursor.fetchone()
        size = found[0] if found else 0
        pieces = []
        for start in range(1, size + 1, FILE_CHUNK):  # substr counts from 1
            cursor.execute(
                f"SELECT substr(file, %s, %s) FROM {table} WHERE id = %s",
                [start, FILE_CHUNK, job_id],
            )
            pieces.append(bytes(cursor.fetchone()[0]))
    return b"".join(pieces)


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
    import_apply.discard_kept(job_id)
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
    if job_id is None:
        import_apply.sweep_kept(now)
    return failed


def _progress(job: ImportJob):
    def progress(n):  # the cache, not the row: the apply transaction hides row updates
        cache.set(progress_key(job.pk), n, 3600)

    return progress


def _check(job: ImportJob, progress) -> bool:
    """Validate the job's file and store the report; False (and the job marked failed)
    when it is unreadable."""
    try:
        data = job_file(job.pk)
        if import_apply.fast_path():
            header, valid, problems = import_apply.check_fast(
                data,
                job.encoding,
                job.mapping,
                job.pk,
                job.mailing_list_id,
                progress,
                MAX_REPORTED,
            )
        else:
            header, clean, problems = validate_import(
                data, job.encoding, job.mapping, job.mailing_list, progress
            )
            valid = len(clean)
            del clean
    except ImportFileError as exc:
        _file_error(job, exc)
        return False
    rejected = sum(1 for p in problems if p["kind"] == REJECTED)
    ImportJob.objects.filter(pk=job.pk).update(
        header=[storable(h[:200]) for h in header[:30]],
        total_rows=valid + len(problems),
        valid_rows=valid,
        rejected_rows=rejected,
        skipped_rows=len(problems) - rejected,
        # Every problem row is kept (the error CSV lists them all); only the first
        # ones keep their values, which the report shows.
        errors=[p if i < MAX_REPORTED else {**p, "values": []} for i, p in enumerate(problems)],
    )
    return True


def _file_error(job: ImportJob, exc: ImportFileError) -> None:
    import_apply.discard_kept(job.pk)
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.FAILED,
        errors=[_problem(0, [], REJECTED, "file", text=str(exc))],
        finished_at=timezone.now(),
    )


def check_import(job_id: int) -> ImportJob:
    """Step one: read and check every row and store the report; nothing is imported.
    The job then waits (CHECKED) for the person to choose to import the valid rows."""
    job = _jobs().get(pk=job_id)
    if job.status not in (ImportJob.Status.PENDING, ImportJob.Status.CHECKING):
        return job
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.CHECKING, started_at=timezone.now()
    )
    try:
        if _check(job, _progress(job)):
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
    job = _jobs().get(pk=job_id)
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
    """Apply the rows the report called valid (the person chose those, not rows that
    would pass now for a reason the report did not show), checked again: an address
    suppressed or a person who left since the report is left out."""
    progress = _progress(job)
    if import_apply.fast_path() and import_apply.kept_rows(job):
        # The check kept the valid rows: nothing to read or check again.
        chosen, clean = None, None
    else:
        reported = {p["row"] for p in job.errors}
        data = job_file(job.pk)
        try:
            if import_apply.fast_path():
                _header, rows = checked_rows(data, job.encoding, job.mapping, frozenset(reported))
                chosen = ((row, values) for row, _cells, values, problem in rows if problem is None)
                clean = None
            else:
                _header, clean, _problems = validate_import(
                    data, job.encoding, job.mapping, job.mailing_list, progress, True
                )
                clean = [values for values in clean if values["row"] not in reported]
        except ImportFileError as exc:
            _file_error(job, exc)
            return
    with transaction.atomic():
        if clean is None:
            imported = import_apply.apply_fast(job, chosen, progress)
            import_apply.discard_kept(job.pk)
        else:
            since = timezone.now()
            imported = import_apply.apply_plain(job, clean, progress)
            changes.record_import_plain(job, since)
        # In the transaction: a job swept as stale meanwhile imports nothing.
        done = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.RUNNING).update(
            status=ImportJob.Status.DONE,
            processed_rows=imported,
            imported_rows=imported,
            finished_at=timezone.now(),
        )
        if not done:
            transaction.set_rollback(True)


def error_rows(job: ImportJob) -> Iterator[list[str]]:
    """The rows not imported, for the error CSV: header (row, reason, the file's own
    columns), then each reported row with its full original values, in the file's
    order. The cells are read from the file again: the report keeps them bounded."""
    header, rows = read_rows(job_file(job.pk), job.encoding)
    reasons = {p["row"]: describe(p) for p in job.errors}
    yield [_("row"), _("reason"), *header]
    for row, cells, _unreadable in rows:
        if row in reasons:
            yield [str(row), reasons[row], *(_cell(c) for c in cells)]
