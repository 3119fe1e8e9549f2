"""bench.audiences: the steps measured in a process of their own, for their peak memory
(ru_maxrss of a fresh interpreter, not of the benchmark that loaded the data).

    python -m bench.audiences_child import JOB_ID
    python -m bench.audiences_child baseline-import PATH ENCODING LIST_ID
    python -m bench.audiences_child send SEND_ID BATCHES

Prints one JSON line: what the step returned, its seconds and peak RSS in MB (VmHWM).
"""

from __future__ import annotations

import json
import resource
import sys
import time


def _import(job_id: int) -> dict:
    """The import job end to end, as its Celery tasks run it: check, the person's
    confirmation, then the import."""
    from campaigns.audiences import importing
    from campaigns.audiences.models import ImportJob

    started = time.perf_counter()
    job = importing.check_import(job_id)
    checked = time.perf_counter() - started
    if not importing.confirm_import(job):
        job.refresh_from_db()
        return {"error": f"not confirmed: status {job.status}", "errors": job.errors[:3]}
    job = importing.run_import(job_id)
    # Without the file: loading a 50 MB file with the job is the benchmark's memory,
    # not the import's.
    job = ImportJob.objects.defer("file").get(pk=job_id)
    return {
        "status": job.status,
        "check_seconds": checked,
        "total_rows": job.total_rows,
        "imported": job.imported_rows,
        "rejected_rows": sorted(p["row"] for p in job.errors if p.get("kind") == "rejected"),
    }


def _baseline_import(path: str, encoding: str, list_id: int) -> dict:
    from bench import audiences_baseline

    with open(path, "rb") as f:
        data = f.read()
    return audiences_baseline.run_import(data, encoding, list_id)


def _send(send_id: int, batches: int) -> dict:
    """`batches` batches of the real send loop (channels.email.services.send_next_batch,
    what each Celery batch task runs) against the SMTP sink."""
    from channels.email import services

    sent = claimed = 0
    for _ in range(batches):
        result = services.send_next_batch(send_id)
        sent += result.sent
        claimed += result.claimed
        if not result.more:
            break
    return {"sent": sent, "claimed": claimed}


def peak_rss_mb() -> float:
    """This process's peak RSS: VmHWM, which starts afresh at exec (ru_maxrss does not:
    Linux keeps the forking parent's across execve, so a child of a large benchmark
    would report the benchmark's)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str]) -> None:
    from bench.audiences import setup_django

    setup_django()
    started = time.perf_counter()
    command = argv[0]
    if command == "import":
        out = _import(int(argv[1]))
    elif command == "baseline-import":
        out = _baseline_import(argv[1], argv[2], int(argv[3]))
    elif command == "send":
        out = _send(int(argv[1]), int(argv[2]))
    else:
        raise SystemExit(f"unknown step {command}")
    out["seconds"] = time.perf_counter() - started
    out["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
