"""Benchmark: email fan-out to a local SMTP sink, against the naive way and the ceiling.

    python -m bench.email_fanout [--quick] [--recipients N] [--runs R]

Uses its own PostgreSQL database (bench_email; created by cloning BENCH_TEMPLATE_DB if
that is set, else by running migrations) so it never touches development or test data.

Scenario (issue 4, "Benchmark"):
- Sink: Postfix's `smtp-sink` on 127.0.0.1 (discards messages, answers like an MTA).
- Issue: an EmailIssuePage of ~50 KB rendered HTML with 10 links; N subscribers
  (20,000; --quick 2,000).
- Ours: the adapter renders once (premailer once) and freezes the audience; then 2 worker
  processes each run the same loop the Celery batch task runs (`send_next_batch`, batch
  claims with row locks, one SMTP connection per batch). Reported: messages/s, time to
  first message, peak RSS of a worker at N/4 and N recipients (memory flat in N).
- Naive baseline (how django-newsletter sends): for every recipient render the template,
  run premailer and open a new SMTP connection; measured on a sample of recipients.
- Ceiling: `smtp-source` sending N messages of 50 KB over 20 connections to the same sink.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "bench_email"
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DB_URL = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + DB_NAME
SINK_PORT = int(os.environ.get("BENCH_SINK_PORT", "2526"))
WORKERS = 2


def _find(tool: str) -> str:
    path = shutil.which(tool) or f"/usr/sbin/{tool}"
    if not os.path.exists(path):
        sys.exit(
            f"{tool} not found: install Debian's postfix package "
            "(DEBIAN_FRONTEND=noninteractive apt-get install -y postfix)"
        )
    return path


def ensure_database() -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname=%s", [DB_NAME]).fetchone()
        if not exists:
            template = os.environ.get("BENCH_TEMPLATE_DB")
            if template:
                conn.execute(f'CREATE DATABASE "{DB_NAME}" TEMPLATE "{template}"')
            else:
                conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    if not os.environ.get("BENCH_TEMPLATE_DB"):
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=ROOT,
            env=dict(os.environ, DATABASE_URL=DB_URL),
            check=True,
        )


def setup_django() -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.dev",
            "DJANGO_DEBUG": "false",
            "DATABASE_URL": DB_URL,
            "LOG_LEVEL": "WARNING",
            "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"),
        }
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def start_sink() -> subprocess.Popen:
    sink = subprocess.Popen(
        [_find("smtp-sink"), "-u", "root", "-c", f"127.0.0.1:{SINK_PORT}", "2048"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import socket

    for _ in range(50):
        try:
            socket.create_connection(("127.0.0.1", SINK_PORT), timeout=0.2).close()
            return sink
        except OSError:
            time.sleep(0.1)
    sink.kill()
    sys.exit("smtp-sink did not start")


def make_issue(home, index: int):
    from content.models import EmailIssueIndexPage, EmailIssuePage

    parent = EmailIssueIndexPage.objects.first()
    if parent is None:
        parent = EmailIssueIndexPage(title="Bench issues", slug="bench-issues")
        home.add_child(instance=parent)
        parent.save_revision().publish()
    # A realistic issue: the greeting names the reader once, the rest is the same for
    # everyone (about 50 KB of HTML after rendering, 10 links).
    paragraph = (
        "<p>Spring is the season to plan ahead: our editors picked the stories, offers "
        "and guides below, with notes on what changed since last month and what to "
        "watch next. 春季促销指南，阅读全文了解更多。</p>"
    )
    body = [("paragraph", "<p>Hello {{ name }},</p>")]
    for i in range(10):
        body.append(("heading", {"text": f"Story {i + 1}: what to know", "level": "h2"}))
        body.append(
            (
                "paragraph",
                paragraph * 22
                + f'<p><a href="https://shop.example.com/spring/{i}?ref=mail">Read story {i + 1}</a></p>',
            )
        )
    page = EmailIssuePage(
        title=f"Bench issue {index}",
        slug=f"bench-issue-{index}-{int(time.time())}",
        subject="Spring picks: 10 stories",
        preheader="This month's stories",
        body=body,
    )
    parent.add_child(instance=page)
    page.save_revision().publish()
    return page


def prepare(n: int, tag: str):
    """A list with n subscribers, an SMTP account on the sink, and a publication."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone
    from wagtail.models import Page

    from campaigns.audiences.models import MailingList, Subscriber, Subscription
    from campaigns.models import Campaign, Publication
    from channels.models import ChannelAccount
    from content.models import HomePage

    home = HomePage.objects.first()
    if home is None:
        home = HomePage(title="Bench home", slug="bench-home")
        Page.get_first_root_node().add_child(instance=home)
    user, _ = get_user_model().objects.get_or_create(username="bench-email")
    mailing_list = MailingList.objects.create(name=f"Bench {tag}", slug=f"bench-{tag}")
    now = timezone.now()
    subscribers = Subscriber.objects.bulk_create(
        [Subscriber(email=f"r{i}.{tag}@bench.example", name=f"Reader {i}") for i in range(n)],
        batch_size=5000,
    )
    ids = Subscriber.objects.filter(email__endswith=f".{tag}@bench.example").values_list(
        "pk", flat=True
    )
    Subscription.objects.bulk_create(
        [
            Subscription(
                subscriber_id=sid,
                mailing_list=mailing_list,
                status="subscribed",
                consent_at=now,
                consent_method="import",
                consent_basis="bench",
                confirmed_at=now,
            )
            for sid in ids
        ],
        batch_size=5000,
    )
    account = ChannelAccount.objects.create(
        kind="email/smtp",
        name=f"Bench sink {tag}",
        settings={
            "host": "127.0.0.1",
            "port": SINK_PORT,
            "security": "none",
            "from_name": "Bench",
            "from_email": "bench@hub.example.com",
            "postal_address": "1 Example Street",
            "default_list": mailing_list.slug,
            "batch_size": 500,
            "concurrency": WORKERS,
        },
    )
    campaign = Campaign.objects.create(
        name=f"Bench {tag}",
        slug=f"bench-{tag}",
        start_date=now.date(),
        end_date=now.date(),
        owner=user,
    )
    page = make_issue(home, n)
    publication = Publication.objects.create(campaign=campaign, page=page, channel_account=account)
    del subscribers
    return publication


def _worker(send_id: int, peak):
    from django.db import connection

    from channels.email import services

    connection.close()
    while True:
        result = services.send_next_batch(send_id)
        if not result.claimed and not result.more:
            break
    peak.put(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def run_ours(n: int, tag: str) -> dict:
    from django.db import connection
    from django.db.models import Min

    from channels.email.models import Delivery, EmailSend
    from channels.email.services import email_send_started

    email_send_started.receivers = []  # workers below, not Celery
    publication = prepare(n, tag)
    adapter = publication.channel_account.get_adapter()
    connection.close()
    started = time.time()
    rendered = adapter.render(publication)
    adapter.publish(publication, rendered)
    send = EmailSend.objects.get(publication=publication)
    connection.close()
    ctx = multiprocessing.get_context("fork")
    peak = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(send.pk, peak)) for _ in range(WORKERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    elapsed = time.time() - started
    rows = Delivery.objects.filter(publication=publication)
    sent = rows.filter(status="sent").count()
    first = rows.aggregate(first=Min("sent_at"))["first"].timestamp() - started
    last = rows.order_by("-sent_at").values_list("sent_at", flat=True).first().timestamp()
    send_window = last - started
    return {
        "sent": sent,
        "message_bytes": _message_bytes(send),
        "elapsed": elapsed,
        "rate": sent / send_window,
        "first": first,
        "peak_mb": max(peak.get() for _ in procs),
        "html_bytes": len(send.html.encode()),
    }


def _message_bytes(send) -> int:
    """Size on the wire of one recipient's message (both parts, quoted-printable)."""
    from channels.email import services
    from channels.email.config import SMTPConfig
    from channels.email.models import Delivery

    config = SMTPConfig.from_account(send.publication.channel_account)
    delivery = Delivery.objects.filter(publication=send.publication).select_related("subscriber")[0]
    message = services.build_frame(send, config).build(
        to_email=delivery.email,
        to_name=delivery.subscriber.name,
        message_id=services.message_id_for(send, delivery, config),
        values=services.message_values(send, delivery),
    )
    return len(message)


def run_naive(sample: int, tag: str) -> float:
    """django-newsletter's way: render + premailer + a new connection, per recipient."""
    import smtplib

    from campaigns.audiences.models import Subscriber
    from channels.email.rendering import render_issue

    publication = prepare(sample, tag)
    subscribers = list(Subscriber.objects.filter(email__endswith=f".{tag}@bench.example"))
    started = time.time()
    for subscriber in subscribers:
        rendered = render_issue(publication.page, publication, postal_address="1 Example Street")
        html = rendered.html.replace("{{ name }}", subscriber.name)
        from django.core.mail import EmailMultiAlternatives

        message = EmailMultiAlternatives(
            rendered.subject, rendered.text, "bench@hub.example.com", [subscriber.email]
        )
        message.attach_alternative(html, "text/html")
        conn = smtplib.SMTP("127.0.0.1", SINK_PORT)
        conn.sendmail("bench@hub.example.com", [subscriber.email], message.message().as_bytes())
        conn.quit()
    return len(subscribers) / (time.time() - started)


def run_ceiling(n: int, length: int = 50 * 1024) -> float:
    started = time.time()
    subprocess.run(
        [
            _find("smtp-source"),
            "-s", "20",
            "-l", str(length),
            "-m", str(n),
            "-f", "bench@hub.example.com",
            "-t", "sink@bench.example",
            f"127.0.0.1:{SINK_PORT}",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return n / (time.time() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--recipients", type=int)
    parser.add_argument("--runs", type=int)
    args = parser.parse_args()
    n = args.recipients or (2000 if args.quick else 20000)
    runs = args.runs or (1 if args.quick else 3)
    ensure_database()
    setup_django()
    from bench._common import figure, median, print_figures, write_results

    sink = start_sink()
    try:
        stamp = str(int(time.time()))
        ours = [run_ours(n, f"{stamp}-{r}") for r in range(runs)]
        small = run_ours(max(500, n // 4), f"{stamp}-small")
        naive = median(
            [run_naive(200 if not args.quick else 100, f"{stamp}-naive{r}") for r in range(runs)]
        )
        ceiling = median([run_ceiling(n) for _ in range(runs)])
        # The issue's ceiling sends 50 KB messages; ours are bigger on the wire (a text
        # and an HTML part, quoted-printable, which triples every byte of Chinese text),
        # so the machine's ceiling for messages of our size is measured too.
        wire = ours[0]["message_bytes"]
        same_size = median([run_ceiling(n, wire) for _ in range(runs)])
    finally:
        sink.terminate()
    rate = median([o["rate"] for o in ours])
    peak = median([o["peak_mb"] for o in ours])
    figures = [
        figure("messages per second (2 workers)", rate, "msg/s", ">=", 1500),
        figure("share of the smtp-source ceiling", rate / ceiling, "ratio", ">=", 0.6),
        figure(
            "share of the smtp-source ceiling at our message size",
            rate / same_size,
            "ratio",
            ">=",
            0.6,
        ),
        figure("speed-up over the naive baseline", rate / naive, "x", ">=", 10),
        figure(
            "worker peak RSS at N vs N/4 recipients",
            peak / small["peak_mb"],
            "ratio",
            "<=",
            1.25,
        ),
        figure("time to first message", median([o["first"] for o in ours]), "s"),
        figure("worker peak RSS", peak, "MB"),
        figure("naive baseline", naive, "msg/s"),
        figure("smtp-source ceiling (20 connections, 50 KB)", ceiling, "msg/s"),
        figure(f"smtp-source ceiling (20 connections, {wire} bytes)", same_size, "msg/s"),
        figure("message size on the wire", wire, "bytes"),
        figure("bytes per second, ours / 50 KB ceiling", rate * wire / (ceiling * 51200), "ratio"),
        figure("all recipients sent", min(o["sent"] for o in ours) / n, "ratio", "==", 1.0),
    ]
    print(f"email_fanout: {n} recipients, {runs} runs, issue HTML {ours[0]['html_bytes']} bytes")
    print_figures(figures)
    write_results(
        "email_fanout_quick" if args.quick else "email_fanout",
        figures,
        extra={"recipients": n, "runs": runs, "raw": ours, "small": small},
    )


if __name__ == "__main__":
    main()
