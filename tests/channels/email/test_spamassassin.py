"""SpamAssassin, Debian's package with its local rules only (`spamassassin -t -L`: no
network tests, no Bayes), scores what subscribers receive below 1.0: the demo's email
and e-zine issues in English and Chinese, and a one-line issue (the case where the open
pixel used to fire HTML_IMAGE_ONLY_*). Each message is the real one: rendered by the
adapter, its audience frozen, sent in a batch over SMTP to a loopback server, and
scored as that server received it (From, To, Date, Message-ID, List-Unsubscribe and
Feedback-ID as sent).

Under CI a missing spamassassin fails the test (.ci/run installs it); elsewhere it
skips. Each message is scored by one spamassassin process, all of them at once.
"""

import email
import email.policy
import os
import re
import shutil
import subprocess

import pytest
from django.test import override_settings
from django.utils import timezone

from campaigns.audiences.models import Subscriber, Subscription
from channels.email.models import EmailSend
from content.demo import load_content
from content.models import EmailIssuePage, EZineIssuePage
from tests.conftest import missing_service
from tests.factories import PublicationFactory, make_email_issue

from .conftest import drain, publish

LIMIT = 1.0
READERS = {
    "en": ("Dana Lee", "dana.lee@example.org"),
    "zh-hans": ("王小明", "xiaoming.wang@example.cn"),
}


def _spamassassin() -> str:
    path = shutil.which("spamassassin")
    if not path:
        missing_service("Debian's spamassassin (apt-get install spamassassin)")
    return path


def _subscribe(mailing_list, language: str) -> None:
    name, address = READERS[language]
    subscriber, _new = Subscriber.objects.get_or_create(
        email=address, defaults={"name": name, "language": language}
    )
    Subscription.objects.create(
        subscriber=subscriber,
        mailing_list=mailing_list,
        status=Subscription.Status.SUBSCRIBED,
        consent_at=timezone.now(),
        consent_method=Subscription.Method.FORM,
    )


def _sent_messages(pages, account, mailing_list, handler) -> list[tuple[str, bytes]]:
    """(label, bytes as received) of one message per page, each to a reader in the
    page's language, through the real send path."""
    out = []
    for page in pages:
        Subscription.objects.filter(mailing_list=mailing_list).delete()
        _subscribe(mailing_list, page.language)
        before = len(handler.messages)
        publication = PublicationFactory(page=page, channel_account=account)
        send = publish(publication)
        drain(send)
        assert EmailSend.objects.get(pk=send.pk).status == EmailSend.Status.FINISHED
        assert len(handler.messages) == before + 1
        out.append((f"{page.title} ({page.language})", handler.messages[-1][1]))
    return out


def _scores(spamassassin: str, messages, home) -> list[tuple[str, float, str, str]]:
    """(label, score, rules that fired, report) for each message, all scored at once."""
    env = {**os.environ, "HOME": str(home)}  # its user_prefs go there, not to ~
    runs = []
    for label, raw in messages:
        proc = subprocess.Popen(
            [spamassassin, "-t", "-L"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        runs.append((label, proc, raw))
    results = []
    for label, proc, raw in runs:
        out, err = proc.communicate(raw, timeout=120)
        assert proc.returncode == 0, err.decode(errors="replace")
        status = email.message_from_bytes(out, policy=email.policy.compat32)["X-Spam-Status"]
        status = re.sub(r"\s+", " ", str(status))
        score = float(re.search(r"score=(-?[\d.]+)", status).group(1))
        rules = re.search(r"tests=(.*?)(?: autolearn=| version=|$)", status).group(1)
        rules = rules.replace(" ", "").strip(",")
        report = out.decode("utf-8", errors="replace").rpartition("Content analysis details:")[2]
        results.append((label, score, rules, report))
    return results


@pytest.mark.django_db
@override_settings(SITE_BASE_URL="https://hub.example.com")
def test_demo_issues_score_below_one(smtp_server, email_account, mailing_list, no_celery, tmp_path):
    spamassassin = _spamassassin()
    _controller, handler = smtp_server
    load_content()
    ezine_issues = {}  # an e-zine issue's language is its e-zine's
    for issue in EZineIssuePage.objects.live().order_by("pk"):
        ezine_issues.setdefault(issue.language, issue)
    pages = [
        *(EmailIssuePage.objects.filter(language=lang).live().first() for lang in READERS),
        *(ezine_issues.get(lang) for lang in READERS),
    ]
    # An issue of one line: the pixel's HTML_IMAGE_ONLY_* fired on issues this short.
    home = EmailIssuePage.objects.first().get_parent().get_parent()
    for lang, title, line in [
        ("en", "A short note", "Hello {{ name }}, the shop opens at nine tomorrow."),
        ("zh-hans", "简短通知", "{{ name }}，你好：明天九点开门。"),
    ]:
        pages.append(
            make_email_issue(
                home,
                title=title,
                slug=f"short-{lang}",
                subject=title,
                preheader="",
                language=lang,
                body=[("paragraph", f"<p>{line}</p>")],
            )
        )
    assert all(pages) and {p.language for p in pages} == set(READERS)
    messages = _sent_messages(pages, email_account, mailing_list, handler)

    results = _scores(spamassassin, messages, tmp_path)

    too_high = [r for r in results if r[1] >= LIMIT]
    assert not too_high, "\n\n".join(
        f"{label}: {score} points ({rules})\n{report}" for label, score, rules, report in too_high
    )
