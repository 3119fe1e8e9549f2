"""bench.audiences: the measurements, each as a person meets it (services, the admin
through Django's test client as a logged-in superuser, the import job and the send
loop in processes of their own). Sizes and figures are put together in audiences.py.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench._common import percentile

ROOT = Path(__file__).resolve().parent.parent

# The six reference segments of issue 19, on the big list: what the baseline needs
# (kind, tags, key/value...) and the segment builder's rows for the same condition.
REFERENCE_SEGMENTS = [
    {"name": "one tag", "kind": "tag", "tags": ["tag003"]},
    {"name": "two tags, all", "kind": "tags_all", "tags": ["tag001", "tag004"]},
    {"name": "any of three tags", "kind": "tags_any", "tags": ["tag010", "tag020", "tag040"]},
    {"name": "an attribute", "kind": "attribute", "key": "city", "value": "上海"},
    {"name": "engaged in 30 days", "kind": "engaged", "days": 30},
    {
        "name": "tag, attribute, lapsed, language",
        "kind": "combined",
        "tags": ["tag002"],
        "key": "plan",
        "value": "pro",
        "language": "zh-hans",
        "lapsed_days": 90,
    },
]


def builder_filters(segment: dict) -> dict:
    """The segment builder's value for a reference segment (rows, plus the one key the
    builder keeps from before it for "lapsed")."""
    kind = segment["kind"]
    tag_rows = [{"field": "tag", "op": "is", "value": t} for t in segment.get("tags", [])]
    if kind in ("tag", "tags_all"):
        return {"match": "all", "rules": tag_rows}
    if kind == "tags_any":
        return {"match": "any", "rules": tag_rows}
    attribute = {
        "field": "attribute",
        "op": "equals",
        "key": segment.get("key"),
        "value": segment.get("value"),
    }
    if kind == "attribute":
        return {"match": "all", "rules": [attribute]}
    if kind == "engaged":
        return {
            "match": "all",
            "rules": [{"field": "engagement", "op": "engaged", "days": str(segment["days"])}],
        }
    return {
        "match": "all",
        "rules": [
            *tag_rows,
            attribute,
            {"field": "language", "op": "is", "value": segment["language"]},
        ],
        "engagement": "lapsed",
        "days": segment["lapsed_days"],
    }


def builder_post(list_id: int, filters: dict) -> dict:
    """The form fields the segment builder posts to its live-count endpoint."""
    data = {"mailing_list": str(list_id), "filters-match": filters["match"]}
    for i, row in enumerate(filters["rules"]):
        source = {"list": "list", "language": "language", "timezone": "timezone"}
        for key in ("field", "op", "key", "days"):
            if row.get(key) is not None:
                data[f"filters-{i}-{key}"] = str(row[key])
        data[f"filters-{i}-{source.get(row['field'], 'value')}"] = str(row.get("value", ""))
    legacy = {k: filters[k] for k in ("engagement", "days") if k in filters}
    if legacy:
        data["filters-legacy"] = json.dumps(legacy)
    return data


def timed_ms(fn):
    t0 = time.perf_counter()
    value = fn()
    return (time.perf_counter() - t0) * 1000, value


def brute_force_counts(list_id: int, now: datetime.datetime) -> dict[str, int]:
    """Each reference segment counted in Python over every loaded row (--quick sizes)."""
    from campaigns.audiences.models import Subscriber, Subscription, Suppression

    suppressed = {e.lower() for e in Suppression.objects.values_list("email", flat=True)}
    members = set(
        Subscription.objects.filter(mailing_list_id=list_id, status="subscribed").values_list(
            "subscriber_id", flat=True
        )
    )
    counts = {s["name"]: 0 for s in REFERENCE_SEGMENTS}
    counts["the whole list"] = 0
    for person in Subscriber.objects.all().iterator(chunk_size=5000):
        if person.pk not in members or person.email.lower() in suppressed:
            continue
        counts["the whole list"] += 1
        tags, attrs, engaged = set(person.tag_list), person.attributes, person.last_engaged_at
        for s in REFERENCE_SEGMENTS:
            kind = s["kind"]
            if kind in ("tag", "tags_all"):
                hit = all(t in tags for t in s["tags"])
            elif kind == "tags_any":
                hit = any(t in tags for t in s["tags"])
            elif kind == "attribute":
                hit = attrs.get(s["key"]) == s["value"]
            elif kind == "engaged":
                hit = engaged is not None and engaged >= now - datetime.timedelta(days=s["days"])
            else:
                lapsed = now - datetime.timedelta(days=s["lapsed_days"])
                hit = (
                    s["tags"][0] in tags
                    and attrs.get(s["key"]) == s["value"]
                    and person.language == s["language"]
                    and engaged is not None
                    and engaged < lapsed
                )
            counts[s["name"]] += hit
    return counts


def measure_segments(client, big, repeats: int, baseline_repeats: int) -> dict:
    """Per reference segment: the exact count (services.audience_count), the builder's
    live count through its endpoint, the estimate service when there is one, and main's
    count on the old layout; times in ms and the counts."""
    from django.db import connection
    from django.urls import reverse

    from bench import audiences_baseline
    from campaigns.audiences import services

    url = reverse("audiences_segment_count")
    estimate = getattr(services, "estimate_count", None)
    out = {}
    for segment in REFERENCE_SEGMENTS:
        filters = builder_filters(segment)
        row = {"exact_ms": [], "live_ms": [], "estimate_ms": [], "baseline_ms": []}
        # The builder's endpoint once untimed, as a running server has it (see
        # measure_admin); the counts themselves are not warmed.
        client.post(url, builder_post(big.pk, filters))
        # The first exact count is reported on its own: it may read the table from disk
        # after the steps before it pushed it out of the page cache.
        row["exact_first_ms"], _count = timed_ms(
            lambda f=filters: services.audience_count(mailing_list=big, filters=f)
        )
        for _ in range(repeats):
            ms, row["exact"] = timed_ms(
                lambda f=filters: services.audience_count(mailing_list=big, filters=f)
            )
            row["exact_ms"].append(ms)
            ms, response = timed_ms(lambda f=filters: client.post(url, builder_post(big.pk, f)))
            payload = response.json()
            assert response.status_code == 200 and "count" in payload, payload
            row["live_ms"].append(ms)
            row["live"] = payload["count"]
            if estimate is not None:
                ms, value = timed_ms(lambda f=filters: estimate(mailing_list=big, filters=f))
                row["estimate_ms"].append(ms)
                row["estimate"], row["estimate_exact"] = value
        now = datetime.datetime.now(datetime.UTC)
        for _ in range(baseline_repeats):
            ms, row["baseline"] = timed_ms(
                lambda s=segment, t=now: audiences_baseline.count(connection, s, big.pk, t)
            )
            row["baseline_ms"].append(ms)
        out[segment["name"]] = row
        print(
            f"  segment {segment['name']}: exact {row['exact']} p95"
            f" {percentile(row['exact_ms'], 95):.0f} ms, live {row['live']} p95"
            f" {percentile(row['live_ms'], 95):.0f} ms, baseline {row['baseline']}"
            f" {percentile(row['baseline_ms'], 95):.0f} ms",
            flush=True,
        )
    return out


def admin_pages(big, smalls) -> dict[str, tuple[str, dict]]:
    """The admin screens a person opens, as (url, query)."""
    from django.urls import reverse

    from campaigns.audiences.models import Subscriber

    person = Subscriber.objects.get(pk=12345 if Subscriber.objects.filter(pk=12345).exists() else 1)
    index = reverse("subscriber:index")
    return {
        "subscriber index": (index, {}),
        "search: exact email": (index, {"q": person.email}),
        "search: email prefix": (index, {"q": person.email[:7]}),
        "search: Chinese name": (index, {"q": "王芳"}),
        "search: Latin name": (index, {"q": "Anna Smith"}),
        "filter: by list": (index, {"mailing_list": str(smalls[3])}),
        "filter: by tag": (index, {"tag": "tag017"}),
        "mailing-list index": (reverse("mailinglist:index"), {}),
        "subscriber page": (reverse("subscriber:edit", args=[person.pk]), {}),
    }


class QueryClock:
    """Sums the time spent in database queries while installed (execute_wrapper)."""

    def __init__(self):
        self.ms = 0.0

    def __call__(self, execute, sql, params, many, context):
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.ms += (time.perf_counter() - t0) * 1000


def measure_admin(client, pages: dict, repeats: int) -> tuple[dict, dict]:
    """Per screen: the page's times (ms) and the part of each spent in its queries.
    Each screen is opened once untimed first, as a running server has: with 10 repeats
    the p95 is the slowest, and the first request of a process (templates compiled,
    translations and URL patterns loaded) measured the process, not the screen."""
    from django.db import connection

    pages_ms, db_ms = {}, {}
    for name, (url, query) in pages.items():
        pages_ms[name], db_ms[name] = [], []
        client.get(url, query)
        for _ in range(repeats):
            clock = QueryClock()
            with connection.execute_wrapper(clock):
                ms, response = timed_ms(lambda u=url, q=query: client.get(u, q))
            assert response.status_code == 200, (name, response.status_code)
            pages_ms[name].append(ms)
            db_ms[name].append(clock.ms)
    return pages_ms, db_ms


def measure_admin_baseline(pages_terms: dict[str, tuple[str, str]], repeats: int) -> dict:
    """main's index queries (count + first page) for the same screens."""
    from django.db import connection

    from bench import audiences_baseline

    out = {}
    for name, (kind, term) in pages_terms.items():
        out[name] = [
            timed_ms(lambda k=kind, t=term: audiences_baseline.index_page(connection, k, t))[0]
            for _ in range(repeats)
        ]
    return out


# --- CSV import ------------------------------------------------------------------------
BAD_KINDS = ["not-an-address", "language", "timezone", "extra_columns"]


def import_csv(rows: int, tag: str, encoding: str) -> tuple[bytes, list[int]]:
    """A CSV of `rows` people (header email,name,language,timezone,tags), every 50th
    row bad in one of four ways (2 %); returns the bytes and the planted bad row numbers
    as a spreadsheet shows them (header = row 1)."""
    lines = ["email,name,language,timezone,tags"]
    bad = []
    names = ["王芳", "李伟", "Anna Smith", "José García", "陈静"]
    for i in range(rows):
        row_number = i + 2
        email = f"imp{i}.{tag}@import.example.com"
        name, lang, zone, tags = (
            names[i % 5],
            ("zh" if i % 3 else "en"),
            "Asia/Shanghai",
            "vip;新客",
        )
        extra = ""
        if i % 50 == 49:
            kind = BAD_KINDS[(i // 50) % 4]
            bad.append(row_number)
            if kind == "not-an-address":
                email = f"imp{i}.{tag}-at-import.example.com"
            elif kind == "language":
                lang = "klingon"
            elif kind == "timezone":
                zone = "Mars/Olympus_Mons"
            else:
                extra = ",surplus"
        lines.append(f"{email},{name},{lang},{zone},{tags}{extra}")
    return ("\n".join(lines) + "\n").encode(encoding), bad


def run_child(*args: str, env: dict) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.audiences_child", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise SystemExit(f"bench.audiences_child {args[0]} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure_import(rows: int, encoding: str, list_id: int, env: dict) -> dict:
    """1 file through the import job in a child process: rows/s, peak RSS, and whether
    the rejected rows are exactly the planted ones."""
    from campaigns.audiences.models import ImportJob

    data, planted = import_csv(rows, f"{encoding}{int(time.time())}", encoding)
    job = ImportJob.objects.create(
        mailing_list_id=list_id,
        file=data,
        encoding=encoding,
        mapping={"email": 0, "name": 1, "language": 2, "timezone": 3, "tags": 4},
        consent_basis="bench import",
    )
    out = run_child("import", str(job.pk), env=env)
    if out.get("status") != "done":
        raise SystemExit(f"import job {job.pk} ended {out}")
    out["rows_per_s"] = rows / out["seconds"]
    out["bad_rows_exact"] = out.pop("rejected_rows") == planted
    out["planted"] = len(planted)
    out["expected_imported"] = rows - len(planted)
    return out


def measure_import_baseline(rows: int, encoding: str, list_id: int, env: dict) -> dict:
    import tempfile

    data, _planted = import_csv(rows, f"base{encoding}{int(time.time())}", encoding)
    with tempfile.NamedTemporaryFile(suffix=".csv", delete=False) as f:
        f.write(data)
    try:
        out = run_child("baseline-import", f.name, encoding, str(list_id), env=env)
    finally:
        os.unlink(f.name)
    out["rows_per_s"] = rows / out["seconds"]
    return out


# --- CSV export ------------------------------------------------------------------------
def measure_export(client, list_id: int) -> dict:
    """The list's export through its admin view, read to the end: rows/s, BOM."""
    from django.urls import reverse

    started = time.perf_counter()
    response = client.get(reverse("audiences_export", args=[list_id]))
    assert response.status_code == 200, response.status_code
    size = newlines = 0
    first = b""
    for chunk in response.streaming_content:
        chunk = chunk.encode() if isinstance(chunk, str) else bytes(chunk)
        if not first:
            first = chunk[:3]
        size += len(chunk)
        newlines += chunk.count(b"\n")
    seconds = time.perf_counter() - started
    return {
        "rows": newlines - 1,
        "seconds": seconds,
        "rows_per_s": (newlines - 1) / seconds,
        "bom": first == "\ufeff".encode(),
        "bytes": size,
    }


# --- freezing and the send loop ----------------------------------------------------------
def make_send(tag: str, sink_port: int, mailing_list):
    """A campaign, an SMTP account on the sink and an email publication to the list."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone
    from wagtail.models import Page

    from campaigns.models import Campaign, Publication
    from channels.models import ChannelAccount

    owner, _ = get_user_model().objects.get_or_create(username="bench-aud-owner")
    account = ChannelAccount.objects.create(
        kind="email/smtp",
        name=f"Bench audiences {tag} {time.time():.3f}",
        is_internal=True,  # the sink is on loopback
        settings={
            "host": "127.0.0.1",
            "port": sink_port,
            "security": "none",
            "from_name": "Bench",
            "from_email": "bench@hub.example.com",
            "postal_address": "1 Example Street",
            "default_list": mailing_list.slug,
            "batch_size": 500,
            "concurrency": 1,
        },
    )
    today = timezone.now().date()
    campaign = Campaign.objects.create(
        name=f"Bench audiences {tag}",
        slug=f"bench-aud-{tag}-{int(time.time())}",
        start_date=today,
        end_date=today,
        owner=owner,
    )
    return Publication.objects.create(
        campaign=campaign, page=Page.get_first_root_node(), channel_account=account
    )


def freeze(publication, limit: int | None = None) -> tuple[float, int, int]:
    """Freeze the publication's audience on the real path (start_email_send, which calls
    freeze_deliveries); `limit` keeps the first `limit` subscribers of the list (the
    N/10 send). Returns (seconds, recipients, EmailSend id)."""
    from channels.base import Rendered
    from channels.email import audience
    from channels.email.config import SMTPConfig

    rendered = Rendered(
        subject="Bench: spring picks",
        html="<html><body><p>Hello {{ name }}, spring is here.</p>"
        + "<p>x</p>" * 400
        + "</body></html>",
        text="Hello {{ name }}, spring is here.\n" + "x\n" * 400,
    )
    config = SMTPConfig.from_account(publication.channel_account)
    started = time.perf_counter()
    if limit is None:
        send = audience.start_email_send(publication, rendered, config)
    else:
        real = audience.freeze_deliveries

        def first_only(pub, members, **kwargs):
            return real(pub, members.filter(pk__lte=limit), **kwargs)

        audience.freeze_deliveries = first_only
        try:
            send = audience.start_email_send(publication, rendered, config)
        finally:
            audience.freeze_deliveries = real
    return time.perf_counter() - started, send.recipient_count, send.pk


def start_sink(port: int) -> tuple[subprocess.Popen, str]:
    """deploy/drills' loopback aiosmtpd sink, in its own process."""
    import socket
    import tempfile

    log = tempfile.mktemp(prefix="bench-aud-sink-", suffix=".log")
    sink = subprocess.Popen(
        [sys.executable, "-m", "deploy.drills.smtp_sink", str(port), log],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return sink, log
        except OSError:
            time.sleep(0.1)
    sink.kill()
    raise SystemExit("the SMTP sink did not start")
