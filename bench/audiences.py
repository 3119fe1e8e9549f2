"""Benchmark: audiences at ten million (issue 19).

    python -m bench.audiences [--quick] [--size N] [--skip-load] [--import-rows N]

Uses its own PostgreSQL database (bench_audiences, created and migrated if missing).
Loads N subscribers (10,000,000; --quick 200,000) with generate_series into the real
tables (bench/audiences_load.py: one big list, ten small ones, Zipf-like tags out of 200,
attributes, languages, time zones, engagement dates, 1 % suppressed, Chinese and Latin
names), and the same people in main's old layout for the baseline. Then measures:
1. six reference segment counts: the exact count (services.audience_count) and the
   segment builder's live count through its endpoint, p95 over repeats; main's count
   on the old layout (bench/audiences_baseline.py) in the same run;
2. the admin subscriber index, searches (exact email, prefix, Chinese and Latin name),
   filters (list, tag), the mailing-list index and a subscriber's page (test client,
   logged-in superuser, p95), against main's index queries;
3. CSV import of 1,000,000 rows (--quick 50,000), UTF-8 and GBK, 2 % bad rows, end to
   end through the import job in a child process (rows/s, peak RSS, the reported bad
   rows equal to the planted ones); main's import on a capped sample (rows/s);
4. CSV export of the big list through its admin view (rows/s, BOM); main's export on
   a capped sample (rows/s);
5. freezing the big audience for a send (channels.email.audience.start_email_send) and
   the send loop's peak RSS with N vs N/10 recipients frozen: the real loop
   (send_next_batch, the same number of batches) in a child process against the
   loopback aiosmtpd sink of deploy/drills (Postfix's smtp-sink is not installed here).
At --quick every count is checked against a brute-force Python count over the loaded
rows; a mismatch stops the run. A full run writes its section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import sys
import time
from pathlib import Path

from bench import audiences_measure as m
from bench._common import django_env, figure, percentile, print_figures, write_results
from bench._common import ensure_database as common_ensure_database

ROOT = Path(__file__).resolve().parent.parent
# BENCH_AUDIENCES_DB: another name, so two checkouts can load their own people at once.
DB_NAME = os.environ.get("BENCH_AUDIENCES_DB", "bench_audiences")
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DB_URL = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + DB_NAME
SINK_PORT = int(os.environ.get("BENCH_AUDIENCES_SINK_PORT", "2531"))
BASELINE_SAMPLE = 200_000  # main's export and import are measured on this many rows at most


def env() -> dict:
    return django_env(DB_URL)


def ensure_database() -> None:
    common_ensure_database(PG_ADMIN_URL, DB_NAME, env())


def setup_django() -> None:
    os.environ.update(env())
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def start_as_the_server() -> None:
    """Start as the web server does (config/wsgi.py, its gc.freeze included), for the
    pages timed through the test client."""
    import config.wsgi  # noqa: F401


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--size", type=int, default=None)
    parser.add_argument("--import-rows", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--send-batches", type=int, default=None)
    parser.add_argument("--skip-load", action="store_true", help="reuse the loaded people")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated steps to measure (segments, admin, import, export, sending);"
        " a partial run prints its figures and writes no results",
    )
    args = parser.parse_args(argv)
    args.size = args.size or (200_000 if args.quick else 10_000_000)
    args.import_rows = args.import_rows or (50_000 if args.quick else 1_000_000)
    args.repeats = args.repeats or (5 if args.quick else 10)
    args.send_batches = args.send_batches or (6 if args.quick else 40)
    args.only = {step.strip() for step in args.only.split(",") if step.strip()}
    unknown = args.only - STEPS
    if unknown:
        parser.error(f"unknown steps: {', '.join(sorted(unknown))}")
    return args


STEPS = {"segments", "admin", "import", "export", "sending"}


def superuser_client():
    from django.contrib.auth import get_user_model
    from django.test import Client

    user, _ = get_user_model().objects.get_or_create(
        username="bench-aud-admin", defaults={"is_superuser": True, "is_staff": True}
    )
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def check_counts(segments: dict, list_ids, now) -> dict:
    """--quick: every count (ours exact, ours live, main's) equals the brute force."""
    from django.db import connection

    from bench import audiences_baseline
    from campaigns.audiences import services
    from campaigns.audiences.models import MailingList

    truth = m.brute_force_counts(list_ids, now)
    problems = []
    for name, row in segments.items():
        for key in ("exact", "baseline"):
            if row[key] != truth[name]:
                problems.append(f"{name}: {key} {row[key]} != brute force {truth[name]}")
        if "estimate" not in row and row["live"] != truth[name]:
            problems.append(f"{name}: live {row['live']} != brute force {truth[name]}")
    big = MailingList.objects.get(pk=list_ids)
    whole = services.audience_count(mailing_list=big)
    if whole != truth["the whole list"]:
        problems.append(f"list count {whole} != brute force {truth['the whole list']}")
    if audiences_baseline.list_count(connection, list_ids) != truth["the whole list"]:
        problems.append("main's list count != brute force")
    if problems:
        raise SystemExit("COUNTS WRONG:\n  " + "\n  ".join(problems))
    print(f"  counts checked against brute force: {truth}", flush=True)
    return truth


def segment_figures(segments: dict) -> list[dict]:
    figures = []
    worst_live = max(percentile(r["live_ms"], 95) for r in segments.values())
    worst_exact = max(percentile(r["exact_ms"], 95) for r in segments.values())
    errors = [abs(r["live"] - r["exact"]) / max(1, r["exact"]) * 100 for r in segments.values()]
    figures += [
        figure("live segment estimate p95, worst reference segment", worst_live, "ms", "<=", 200),
        figure("live segment estimate error vs exact, worst", max(errors), "%", "<=", 5),
        figure("exact segment count p95, worst reference segment", worst_exact, "ms", "<=", 2000),
    ]
    for name, r in segments.items():
        base = percentile(r["baseline_ms"], 95)
        figures += [
            figure(f"segment '{name}': exact count p95", percentile(r["exact_ms"], 95), "ms"),
            figure(
                f"segment '{name}': first exact count, before the p95's repeats",
                r["exact_first_ms"],
                "ms",
            ),
            figure(f"segment '{name}': live count p95", percentile(r["live_ms"], 95), "ms"),
            figure(f"segment '{name}': main's count p95 (baseline)", base, "ms"),
            figure(
                f"segment '{name}': speed-up of the exact count over main",
                base / max(1e-6, percentile(r["exact_ms"], 95)),
                "x",
            ),
            figure(f"segment '{name}': members", r["exact"], "subscribers"),
        ]
    return figures


# The admin screens main could answer, as main's index queries (kind, term); main had
# no list or tag filter (and a subscriber's page is one row by primary key).
def baseline_terms(pages: dict) -> dict:
    return {
        "subscriber index": ("index", ""),
        "search: exact email": ("search", pages["search: exact email"][1]["q"]),
        "search: email prefix": ("search", pages["search: email prefix"][1]["q"]),
        "search: Chinese name": ("search", "王芳"),
        "search: Latin name": ("search", "Anna Smith"),
    }


def admin_figures(ours: dict, ours_db: dict, main: dict) -> list[dict]:
    """The pages against the target; main only ran its queries here (its pages no
    longer exist), so the ratio compares database time with database time."""
    worst = max(percentile(v, 95) for v in ours.values())
    figures = [figure("admin screens p95, worst", worst, "ms", "<=", 150)]
    for name, times in ours.items():
        db = percentile(ours_db[name], 95)
        figures.append(figure(f"admin {name} p95", percentile(times, 95), "ms", "<=", 150))
        figures.append(figure(f"admin {name}: its queries p95", db, "ms"))
        if name in main:
            base = percentile(main[name], 95)
            figures.append(figure(f"admin {name}: main's queries p95 (baseline)", base, "ms"))
            figures.append(
                figure(f"admin {name}: queries speed-up over main", base / max(0.01, db), "x")
            )
    return figures


def run(args) -> tuple[list[dict], dict]:
    from django.db import connection

    from bench import audiences_load
    from campaigns.audiences.models import MailingList

    if not args.skip_load:
        load_s = audiences_load.load(connection, args.size)
        base_s = audiences_load.load_baseline_tables(connection)
        print(f"  loaded in {load_s:.0f} s, main's layout copy in {base_s:.0f} s", flush=True)
    else:
        load_s = base_s = float("nan")
    big = MailingList.objects.get(slug=audiences_load.BIG_SLUG)
    smalls = list(
        MailingList.objects.filter(slug__in=audiences_load.SMALL_SLUGS)
        .order_by("slug")
        .values_list("pk", flat=True)
    )
    client = superuser_client()
    figures: list[dict] = []
    extra: dict = {"size": args.size, "quick": args.quick, "load_seconds": load_s}

    def wanted(step: str) -> bool:
        return not args.only or step in args.only

    # 1. segments
    if wanted("segments"):
        now = datetime.datetime.now(datetime.UTC)
        repeats_main = 2 if args.size > 2_000_000 else 3
        segments = m.measure_segments(client, big, args.repeats, repeats_main)
        if args.quick or args.size <= 500_000:
            extra["brute_force"] = check_counts(segments, big.pk, now)
        figures += segment_figures(segments)

    # 2. admin
    if wanted("admin"):
        pages = m.admin_pages(big, smalls)
        # Twice the repeats: a page takes a tenth of a count, and the p95 of 10 timings
        # is their slowest (one pause of a shared machine).
        ours, ours_db = m.measure_admin(client, pages, 2 * args.repeats)
        main = m.measure_admin_baseline(baseline_terms(pages), max(2, args.repeats // 3))
        figures += admin_figures(ours, ours_db, main)

    # 3. import (into a small list, so the big one stays as loaded)
    import_list = MailingList.objects.get(slug=audiences_load.SMALL_SLUGS[9])
    sample = min(args.import_rows, BASELINE_SAMPLE // 4 if not args.quick else 10_000)
    for encoding in ("utf-8", "gbk") if wanted("import") else ():
        res = m.measure_import(args.import_rows, encoding, import_list.pk, env())
        base = m.measure_import_baseline(sample, encoding, import_list.pk, env())
        label = encoding.upper()
        figures += [
            figure(f"CSV import {label}, rows/s", res["rows_per_s"], "rows/s", ">=", 50_000),
            figure(f"CSV import {label}, peak RSS", res["peak_rss_mb"], "MB", "<=", 500),
            figure(
                f"CSV import {label}: bad rows reported = planted",
                res["bad_rows_exact"],
                "",
                "==",
                True,
            ),
            figure(
                f"CSV import {label}: rows imported",
                res["imported"],
                "rows",
                "==",
                res["expected_imported"],
            ),
            figure(
                f"CSV import {label}: main's rows/s (baseline, {sample:,} rows)",
                base["rows_per_s"],
                "rows/s",
            ),
            figure(
                f"CSV import {label}: main's peak RSS ({sample:,} rows)", base["peak_rss_mb"], "MB"
            ),
            figure(
                f"CSV import {label}: speed-up over main",
                res["rows_per_s"] / base["rows_per_s"],
                "x",
            ),
        ]
        extra[f"import_{encoding}"] = {"ours": res, "main": base}

    # 4. export
    if wanted("export"):
        figures += export_figures(client, big, args)

    # 5. freeze and the send loop
    if wanted("sending"):
        figures += measure_sending(big, args)
    return figures, extra


def export_figures(client, big, args) -> list[dict]:
    from bench import audiences_baseline

    exp = m.measure_export(client, big.pk)
    cap = min(BASELINE_SAMPLE, args.size)
    rows, seconds = audiences_baseline.export(big, cap)
    return [
        figure("CSV export of the big list, rows/s", exp["rows_per_s"], "rows/s", ">=", 100_000),
        figure("CSV export starts with a UTF-8 BOM", exp["bom"], "", "==", True),
        figure("CSV export rows", exp["rows"], "rows"),
        figure(f"CSV export: main's rows/s (baseline, {rows:,} rows)", rows / seconds, "rows/s"),
        figure("CSV export: speed-up over main", exp["rows_per_s"] / (rows / seconds), "x"),
    ]


def clear_earlier_sends() -> None:
    """Empty the delivery table of this benchmark's own database: each run freezes into
    the state the load left (no earlier send), so runs compare; the deliveries of the
    run before (ten million rows) made a freeze 18 % slower."""
    from django.db import connection

    from channels.email.models import Delivery

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {Delivery._meta.db_table}")


def measure_sending(big, args) -> list[dict]:
    clear_earlier_sends()
    sink, log = m.start_sink(SINK_PORT)
    try:
        pub_n = m.make_send("n", SINK_PORT, big)
        freeze_s, frozen_n, send_n = m.freeze(pub_n)
        pub_tenth = m.make_send("tenth", SINK_PORT, big)
        tenth_s, frozen_tenth, send_tenth = m.freeze(pub_tenth, limit=args.size // 10)
        print(f"  froze {frozen_n:,} in {freeze_s:.1f} s, {frozen_tenth:,} in {tenth_s:.1f} s")
        batches = str(args.send_batches)
        at_tenth = m.run_child("send", str(send_tenth), batches, env=env())
        at_n = m.run_child("send", str(send_n), batches, env=env())
    finally:
        sink.terminate()
        sink.wait()
        if os.path.exists(log):
            os.unlink(log)
    return [
        figure("audience freeze, all N recipients", freeze_s, "s", "<=", 60),
        figure("recipients frozen", frozen_n, "recipients"),
        figure("audience freeze, N/10 recipients", tenth_s, "s"),
        figure(
            "send loop peak RSS, N vs N/10 recipients",
            at_n["peak_rss_mb"] / at_tenth["peak_rss_mb"],
            "ratio",
            "<=",
            1.25,
        ),
        figure("send loop peak RSS at N recipients", at_n["peak_rss_mb"], "MB"),
        figure("send loop peak RSS at N/10 recipients", at_tenth["peak_rss_mb"], "MB"),
        figure(f"messages sent per run ({args.send_batches} batches)", at_n["sent"], "messages"),
        figure("send loop rate at N recipients", at_n["sent"] / at_n["seconds"], "msg/s"),
    ]


RESULTS_MD = ROOT / "bench" / "RESULTS.md"
START, END = "<!-- audiences:start -->", "<!-- audiences:end -->"


def write_section(figures: list[dict], extra: dict) -> None:
    """Replace this benchmark's generated table in bench/RESULTS.md (full runs only)."""
    lines = [
        START,
        f"Generated by `python -m bench.audiences --size {extra['size']}` on"
        f" {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        "| figure | value | target | met |",
        "|---|---|---|---|",
    ]
    for f in figures:
        value = f["value"]
        shown = (
            f"{value:,.4g}"
            if isinstance(value, float)
            else f"{value:,}"
            if isinstance(value, int) and not isinstance(value, bool)
            else str(value)
        )
        met = "" if f["met"] is None else ("yes" if f["met"] else "**no**")
        lines.append(f"| {f['name']} | {shown} {f['unit']} | {f['target'] or ''} | {met} |")
    lines.append(END)
    text = RESULTS_MD.read_text()
    block = "\n".join(lines)
    if START in text:
        text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _m: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    RESULTS_MD.write_text(text)


def main(argv=None) -> None:
    args = parse_args(argv)
    ensure_database()
    setup_django()
    start_as_the_server()
    started = time.monotonic()
    figures, extra = run(args)
    extra["seconds"] = time.monotonic() - started
    print_figures(figures)
    if args.only:
        return
    write_results("audiences_quick" if args.quick else "audiences", figures, extra=extra)
    if not args.quick:
        write_section(figures, extra)


if __name__ == "__main__":
    main()
