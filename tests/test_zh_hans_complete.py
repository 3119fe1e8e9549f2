"""Whole in Chinese: every admin screen of ours, every public page and every email we
send, rendered for a zh-hans reader, shows no English string of ours.

How a leak is recognised (no pseudo-locale: Django's catalogues make one awkward):
- the English source strings are the msgids of our zh_Hans catalogues; a visible text
  node (or a title, placeholder, aria-label, alt or button value) that, reduced to its
  Latin words, equals one of them, or contains one of three words or more as a whole, is
  a string that was not translated (missing from the catalogue, fuzzy, or never wrapped
  in gettext but also written elsewhere in English);
- a node that is a bare Python value (`True`, `False`, `None`, `(blank)`) or a stored
  code (a choice's value such as `hard_bounce`, a channel family or kind such as
  `ezine` or `email/smtp`) is a leak whatever the catalogue says;
- user data (names, titles, addresses from the demo; an uploaded CSV's cells on its
  import report) and the allowed Latin tokens (brands, codes such as CSV or SMTP) are
  taken out first; Latin words inside a Chinese sentence are the translator's choice;
- not read: scripts and styles (except our own JSON data islands: chart labels and axes,
  script strings), elements marked hidden, <code> (identifiers shown as written), and
  text that is (part of) one of Wagtail's own strings Wagtail leaves untranslated.

The failure lists each screen's URL with its offending strings, so after new strings
land the integrator sees at once what is left to translate: run `make messages`, fill
the catalogues, compile, run this file.
"""

from __future__ import annotations

import functools
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.apps import apps
from django.core import mail
from django.core.management import call_command
from django.db import models
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import translation
from wagtail.models import Page
from wagtail.users.models import UserProfile

from tests import polib_lite
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[1]
OUR_APPS = ("campaigns", "channels", "analytics", "content", "config")
LANG = "zh-hans"

# Latin words a Chinese screen may show: brands, protocols and codes that are not
# translated in Chinese either.
ALLOWED_TOKENS = {
    "csv", "smtp", "seo", "utm", "rrule", "url", "urls", "html", "rss", "atom", "api",
    "id", "ip", "cta", "ctr", "json", "xml", "rpc", "xml rpc", "oauth", "dsn", "dkim",
    "spf", "tls", "ssl", "starttls", "http", "https", "utc", "ses", "amazon ses",
    "mailgun", "wordpress", "discourse", "reddit", "metaweblog", "wagtail", "google",
    "baidu", "bing", "celery", "redis", "postgresql", "ok", "cc", "bcc",
    "campaign hub", "rest", "feedback id", "list unsubscribe", "gmail", "outlook", "eta",
    "dns", "mx", "alt", "og", "canonical", "robots", "noindex", "nofollow", "sitemap",
}  # fmt: skip
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
CODE = re.compile(r"[a-z0-9_./:-]+")
BARE_VALUES = {"True", "False", "None", "(blank)", "[]", "{}"}


# --- The catalogue ------------------------------------------------------------------
def _words(text: str) -> str:
    """The Latin words of `text`, lowercased, placeholders, digits and punctuation out."""
    text = re.sub(r"%\(\w+\)[sdif]|%[sdif]|\{[\w.]*\}", " ", text)
    return " ".join(re.findall(r"[a-z]+", text.lower()))


def our_catalogues() -> list[Path]:
    return [
        p for p in ROOT.glob("**/locale/zh_Hans/LC_MESSAGES/django.po") if ".venv" not in p.parts
    ]


@functools.cache
def wagtail_untranslated() -> list[str]:
    """The Latin words of Wagtail's own strings that Wagtail's zh_Hans catalogues leave
    untranslated: Wagtail's chrome may show those (fragments included), ours may not."""
    import wagtail

    found = []
    for english in Path(wagtail.__file__).parent.glob("**/locale/en/LC_MESSAGES/django*.po"):
        chinese = Path(str(english).replace("/en/", "/zh_Hans/"))
        translated = set()
        if chinese.exists():
            translated = set(polib_lite.msgids(chinese)) - set(polib_lite.untranslated(chinese))
        found += [_words(m) for m in polib_lite.msgids(english) if m not in translated]
    return [w for w in found if w]


@functools.cache
def english_msgids() -> dict[str, str]:
    """Our English source strings by their Latin words (those are what a leak shows)."""
    found = {}
    for path in our_catalogues():
        for msgid in polib_lite.msgids(path):
            words = _words(msgid)
            if words and words not in ALLOWED_TOKENS:
                found.setdefault(words, msgid)
    return found


# --- What a reader sees ---------------------------------------------------------------
class _Visible(HTMLParser):
    """Text nodes and the attributes a reader sees or hears. Scripts and styles are not
    read, except our JSON data islands (chart labels and axes, script strings); nor are
    elements marked hidden; <code> shows identifiers (queue names, merge tags, slugs)
    that stay as written in every language."""

    ATTRS = ("title", "placeholder", "aria-label", "alt", "data-tooltip")

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self._skip = 0
        self._hidden: list[str] = []  # the open hidden element's tag, and same-name nesting
        self._json = False

    SKIPPED = ("script", "style", "code")
    VOID = ("input", "br", "img", "hr", "meta", "link", "source", "wbr", "col", "area")

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self._hidden:
            if tag == self._hidden[0] and tag not in self.VOID:
                self._hidden.append(tag)
            return
        if "hidden" in attrs and tag not in self.VOID:
            self._hidden.append(tag)
            return
        if tag in self.SKIPPED:
            self._skip += 1
            self._json = tag == "script" and attrs.get("id") in our_json_islands()
        for name in self.ATTRS:
            if attrs.get(name):
                self.texts.append(attrs[name])
        if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
            self.texts.append(attrs["value"])

    def handle_endtag(self, tag):
        if self._hidden:
            if tag == self._hidden[0]:
                self._hidden.pop()
            return
        if tag in self.SKIPPED and self._skip:
            self._skip -= 1
            self._json = False

    def handle_data(self, data):
        if self._hidden:
            return
        if self._json:
            self.texts += _json_strings(json.loads(data))
        elif not self._skip and data.strip():
            self.texts.append(data.strip())


@functools.cache
def our_json_islands() -> set[str]:
    """The ids of the JSON our templates hand their scripts (`json_script:"id"`)."""
    ids = set()
    for app in OUR_APPS:
        for template in (ROOT / app).glob("**/templates/**/*.html"):
            ids.update(re.findall(r'json_script:"([\w-]+)"', template.read_text()))
    return ids


def _json_strings(value) -> list[str]:
    """The string values (not keys) of a JSON document."""
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return [s for v in value for s in _json_strings(v)]
    return []


def visible_texts(html: str) -> list[str]:
    parser = _Visible()
    parser.feed(html)
    return parser.texts


@functools.cache
def our_codes() -> frozenset[str]:
    """Stored codes a screen must put in words: the values of our models' choices (where
    they differ from the English label), channel families and kinds."""
    from channels.registry import ADAPTERS, FAMILY_LABELS

    codes = set(FAMILY_LABELS) | set(ADAPTERS)
    with translation.override("en"):
        for model in apps.get_models():
            if model.__module__.split(".")[0] not in OUR_APPS:
                continue
            for field in model._meta.fields:
                for value, label in field.flatchoices or ():
                    if isinstance(value, str) and value and value != str(label):
                        codes.add(value)
    return frozenset(codes)


class Checker:
    def __init__(self, user_data: set[str]):
        self.codes = our_codes()
        self.msgids = english_msgids()
        self.long = [w for w in self.msgids if w.count(" ") >= 2]
        self.wagtails = [f" {w} " for w in wagtail_untranslated()]
        self.data = frozenset(user_data)
        data = sorted((d for d in user_data if len(d) >= 3), key=len, reverse=True)
        self.user_data = re.compile("|".join(map(re.escape, data))) if data else None

    def leaks(self, texts: list[str], exempt: frozenset[str] = frozenset()) -> list[str]:
        """The texts that leak English; `exempt`: texts this screen shows as data."""
        found = []
        for text in texts:
            if text in BARE_VALUES:
                found.append(text)
                continue
            if text in exempt or text in self.data:
                continue
            rest = self.user_data.sub(" ", text) if self.user_data else text
            words = _words(rest)
            padded = f" {words} "
            if words and any(padded in w for w in self.wagtails):
                continue  # Wagtail's own chrome (or a piece of it), untranslated by Wagtail
            if text in self.codes:
                found.append(text)
                continue
            if not words or words in ALLOWED_TOKENS:
                continue
            # Latin words inside a Chinese sentence are a translator's choice (a brand, a
            # term); a whole English sentence of ours inside one is not.
            chinese = CJK.search(rest)
            if not chinese and words in self.msgids:
                found.append(text)
                continue
            if any(f" {m} " in padded for m in self.long):
                found.append(text)
        return list(dict.fromkeys(found))


def user_data_strings() -> set[str]:
    """What people typed (or the demo made): shown as written in any language."""
    values: set[str] = set()
    kinds = (models.CharField, models.TextField, models.EmailField, models.URLField)
    for model in apps.get_models():
        if model._meta.app_label not in (
            *OUR_APPS,
            "audiences",
            "email",
            "ezine",
            "ops",
            "wagtailcore",
            "auth",
            "taggit",
            "wagtailimages",
        ):
            continue
        fields = [
            f.name for f in model._meta.concrete_fields if isinstance(f, kinds) and not f.choices
        ]
        if not fields:
            continue
        for row in model.objects.values_list(*fields)[:2000]:
            for value in row:
                if isinstance(value, str) and value.strip() and len(value) < 300:
                    values.update(line.strip() for line in value.splitlines() if line.strip())
    # Codes (a channel family, a kind, a slug) are what a screen must put in words: they
    # do not count as something a person wrote.
    values = {v for v in values if not CODE.fullmatch(v)}
    # A soft article's disclosure label is shown as the editor chose it, in the
    # article's language (content/disclosure.py), wherever the article is listed.
    from content.disclosure import disclosure_label

    values.update(filter(None, (disclosure_label(p) for p in Page.objects.specific())))
    return values


# --- The screens -------------------------------------------------------------------------
def _walk(patterns, prefix="", ns=None):
    for p in patterns:
        if isinstance(p, URLResolver):
            child = ns
            if p.namespace:
                child = f"{ns}:{p.namespace}" if ns else p.namespace
            yield from _walk(p.url_patterns, prefix + str(p.pattern), child)
        elif isinstance(p, URLPattern) and p.name:
            yield prefix + str(p.pattern), (f"{ns}:{p.name}" if ns else p.name), p


def _our_viewsets() -> dict[str, type]:
    """URL namespace -> model of every Wagtail viewset registered by one of our apps."""
    from wagtail.admin.viewsets import viewsets

    ours = {}
    for viewset in viewsets.viewsets:
        if type(viewset).__module__.split(".")[0] in OUR_APPS and getattr(viewset, "model", None):
            ours[viewset.name] = viewset.model
    return ours


def admin_url_names() -> list[tuple[str, str, URLPattern]]:
    """(route, name, pattern) of every admin URL of ours."""
    viewsets = _our_viewsets()
    found = []
    for route, name, pattern in _walk(get_resolver().url_patterns):
        if not route.startswith("admin/"):
            continue
        callback = pattern.callback
        module = getattr(getattr(callback, "view_class", callback), "__module__", "")
        if module.split(".")[0] in OUR_APPS or name.split(":")[0] in viewsets:
            found.append((route, name, pattern))
    return found


# Not screens: JSON, CSV, POST-only actions, redirects to other services. Each says why.
NOT_SCREENS = {
    "campaigns_admin:action": "POST only",
    "campaigns_admin:publication_action": "POST only",
    "campaigns_admin:calendar_move": "POST only (JSON)",
    "campaigns_admin:recurrence_preview": "a fragment for the form's script, rendered below",
    "campaigns_content_chooser:chosen": "JSON for the chooser",
    "campaigns_content_chooser:chosen_multiple": "JSON for the chooser",
    "campaigns_content_chooser:create": "Wagtail's, not ours",
    "audiences_import_errors": "CSV file",
    "audiences_export_all": "CSV file",
    "audiences_export": "CSV file",
    "audiences_segment_count": "JSON",
    "channels_admin:account_test": "POST only",
    "channels_admin:reddit_connect": "redirect to Reddit",
    "channels_admin:reddit_callback": "OAuth callback",
    "email_progress": "JSON for the send panel (its words are checked through the panel)",
    "email_preview": "the issue itself, checked with the emails",
    "analytics_connections:test": "POST only",
    "analytics_connections:import_now": "POST only",
    "people_rights:export_json": "a download (JSON), no screen",
    "people_rights:export_csv": "a download (zip), no screen",
}
NOT_SCREEN_SUFFIXES = (":delete", ":copy", ":history_results", ":index_results")


def _objects_for(name: str, kwargs: list[str]) -> list[dict]:
    """Real objects (from the demo) to fill a route's arguments: a few of each kind."""
    from analytics.models import TrackedLink
    from campaigns.audiences.models import ImportJob, MailingList
    from campaigns.models import Campaign, Publication
    from channels.models import ChannelAccount, ManualPlacementTask

    def few(qs, n=4):
        return list(qs[:n])

    viewsets = _our_viewsets()
    namespace = name.split(":")[0]
    if namespace in viewsets and kwargs == ["pk"]:
        return [{"pk": o.pk} for o in few(viewsets[namespace].objects.order_by("pk"), 2)]
    if name == "campaigns_admin:publication_create":
        return [{"campaign_pk": c.pk} for c in few(Campaign.objects.order_by("pk"), 2)]
    if name.startswith("campaigns_admin:publication"):
        pubs = {}
        for pub in Publication.objects.order_by("pk"):
            pubs.setdefault((pub.status, pub.channel_account.kind), pub)
        return [{"pk": p.pk} for p in pubs.values()]
    if name.startswith("campaigns_admin:"):
        campaigns = {}
        for campaign in Campaign.objects.order_by("pk"):
            campaigns.setdefault(campaign.status, campaign)
        return [{"pk": c.pk} for c in campaigns.values()]
    if name == "feedback_admin:case":
        from campaigns.feedback.models import Case

        return [{"pk": c.pk} for c in few(Case.objects.order_by("pk"), 3)]
    if name == "surveys_admin:results":
        from campaigns.surveys.models import NpsSurveyPage, ServqualSurveyPage

        pages = [NpsSurveyPage.objects.first(), ServqualSurveyPage.objects.first()]
        return [{"page_id": p.pk} for p in pages if p]
    if name == "people_rights:erase":
        from campaigns.audiences.models import Subscriber

        return [{"subscriber_id": p.pk} for p in few(Subscriber.objects.order_by("pk"), 1)]
    if name == "audiences_import":
        return [{"list_id": m.pk} for m in few(MailingList.objects.all(), 1)]
    if name == "audiences_import_status":
        return [{"job_id": j.pk} for j in few(ImportJob.objects.order_by("-pk"), 2)]
    if name == "channels_admin:account_edit":
        accounts = {}
        for account in ChannelAccount.objects.order_by("pk"):
            accounts.setdefault(account.kind, account)
        return [{"pk": a.pk} for a in accounts.values()]
    if name == "channels_admin:task_detail":
        return [{"pk": t.pk} for t in few(ManualPlacementTask.objects.order_by("pk"), 2)]
    if name == "email_overview":
        pubs = Publication.objects.filter(channel_account__kind__startswith="email/")
        return [{"publication_id": p.pk} for p in few(pubs.order_by("-pk"), 3)]
    if name == "analytics_campaign_dashboard":
        return [{"campaign_id": c.pk} for c in few(Campaign.objects.order_by("pk"), 3)]
    if namespace == "tracked_links":
        return [{"pk": t.pk} for t in few(TrackedLink.objects.order_by("pk"), 2)]
    return []


def admin_screens(with_objects: bool) -> tuple[list[str], list[str]]:
    """(URLs to render, routes we could not fill)."""
    urls, unfilled = [], []
    for route, name, pattern in admin_url_names():
        if name in NOT_SCREENS or name.endswith(NOT_SCREEN_SUFFIXES):
            continue
        kwargs = list(pattern.pattern.converters)
        if not kwargs:
            urls.append(reverse(name))
            continue
        if not with_objects:
            continue
        filled = _objects_for(name, kwargs)
        if not filled:
            unfilled.append(f"{route} ({name})")
        urls += [reverse(name, kwargs=k) for k in filled]
    # Screens a query string turns into another view: the week calendar, the account
    # form of each channel kind (its fields are declared by the adapter).
    from channels.registry import ADAPTERS

    urls.append(reverse("campaigns_admin:calendar") + "?view=week")
    urls += [reverse("channels_admin:account_create") + f"?kind={kind}" for kind in ADAPTERS]
    # Settings of ours, and the page editor for each of our page types.
    from campaigns.models import TeamSettings

    urls.append(reverse("wagtailsettings:edit", args=["campaigns", "teamsettings"]))
    urls.append(reverse("wagtailsettings:edit", args=["feedback", "feedbacksettings"]))
    if with_objects:
        settings_pk = TeamSettings.load().pk
        urls.append(
            reverse("wagtailsettings:edit", args=["campaigns", "teamsettings", settings_pk])
        )
        seen = set()
        for page in Page.objects.live().specific().order_by("depth", "pk"):
            if type(page).__module__.split(".")[0] != "content" or type(page) in seen:
                continue
            seen.add(type(page))
            urls.append(reverse("wagtailadmin_pages:edit", args=[page.pk]))
            urls.append(reverse("wagtailadmin_explore", args=[page.pk]))
    return urls, unfilled


def zh_admin(client):
    user = UserFactory(username="zh-admin", is_superuser=True, is_staff=True)
    profile = UserProfile.get_for_user(user)
    profile.preferred_language = LANG
    profile.save()
    client.force_login(user)
    return user


def _check_pages(client, urls, checker, *, public=False) -> dict[str, list[str]]:
    failures = {}
    for url in urls:
        extra = {"HTTP_ACCEPT_LANGUAGE": LANG} if public else {}
        response = client.get(url, **extra)
        if response.status_code in (301, 302):
            continue  # a screen that sends the reader on; where it leads is listed itself
        if (
            response.status_code >= 500
            or response.status_code == 403
            or (response.status_code == 404 and not public)
        ):
            failures[url] = [f"HTTP {response.status_code}"]
            continue
        if "html" not in response.get("Content-Type", ""):
            continue
        exempt = frozenset()
        if "/import/job/" in url:
            exempt = import_file_cells()
        elif "/channels/tasks/" in url:
            exempt = task_copies()
        leaks = checker.leaks(visible_texts(response.content.decode()), exempt)
        if leaks:
            failures[url] = leaks
    return failures


def import_file_cells() -> frozenset[str]:
    """What the uploaded CSV files hold: an import report shows their rows as written."""
    import csv

    from campaigns.audiences.models import ImportJob

    cells = set()
    for data in ImportJob.objects.values_list("file", flat=True):
        for row in csv.reader(io.StringIO(bytes(data).decode("utf-8", "replace"))):
            cells.update(c.strip() for c in row if c.strip())
    return frozenset(cells)


def task_copies() -> frozenset[str]:
    """The copy a manual placement task hands over to paste: its article's own words, in
    the article's language (an English article's copy stays English)."""
    from channels.models import ManualPlacementTask

    rows = ManualPlacementTask.objects.values_list("title", "body_markdown", "body_html")
    return frozenset(value.strip() for row in rows for value in row if value.strip())


def _report(failures: dict[str, list[str]]) -> str:
    lines = [f"{len(failures)} screen(s) show English under {LANG}:"]
    for where, leaks in failures.items():
        lines.append(f"  {where}")
        lines += [f"      {leak!r}" for leak in leaks[:25]]
    return "\n".join(lines)


def _load_demo_and_more():
    """The demo, plus what it may lack for some screen: an import report with problems,
    a suppressed address, a manual placement task (all made through the services), an
    analytics connection that has failed once (its screens show the error)."""
    from analytics.search.models import SearchConnection
    from campaigns.audiences import importing
    from campaigns.audiences import services as audiences
    from campaigns.audiences.models import ImportJob, MailingList, Suppression
    from campaigns.models import Campaign, Publication
    from channels.models import ChannelAccount, ManualPlacementTask

    call_command("load_demo", stdout=io.StringIO())
    data = (
        b"email,name,language\n"
        b"ok@example.com,Ok,en\n"
        b"not-an-address,Bad,en\n"
        b"ok@example.com,Twice,en\n"
        b"x@example.com,Extra,en,surplus\n"
        b",Nobody,en\n"
    )
    preview = importing.preview_csv(data, "auto")
    job = ImportJob.objects.create(
        mailing_list=MailingList.objects.order_by("pk").first(),
        file=data,
        encoding=preview["encoding"],
        mapping=preview["mapping"],
        consent_basis="test",
    )
    importing.check_import(job.pk)
    if not SearchConnection.objects.exists():
        SearchConnection.objects.create(
            name="Tongji", kind="baidu", site="12345", last_error="HTTP 401", last_rows=3
        )
    if not Suppression.objects.exists():
        audiences.suppress_address("bounced@example.com", Suppression.Reason.HARD_BOUNCE)
    if not ManualPlacementTask.objects.exists():
        account = ChannelAccount.objects.create(
            kind="manual/placement",
            name="Zhihu",
            settings={"site_name": "知乎", "expected_domain": "zhihu.com", "instructions": ""},
        )
        page = next(
            p
            for p in Page.objects.live().specific().order_by("pk")
            if getattr(p, "language", "") == LANG and hasattr(p, "sponsor")
        )
        campaign = Campaign.objects.order_by("pk").first()
        publication = Publication.objects.create(
            campaign=campaign, channel_account=account, page=page, created_by=campaign.owner
        )
        adapter = account.get_adapter()
        adapter.publish(publication, adapter.render(publication))


@pytest.fixture(scope="module")
def demo_data(django_db_setup, django_db_blocker, tmp_path_factory):
    """Loaded once for the module (it takes seconds), in a transaction rolled back at the
    end; each test runs in its own savepoint inside it."""
    from django.db import transaction
    from django.test import override_settings

    with (
        django_db_blocker.unblock(),
        override_settings(VAR_DIR=tmp_path_factory.mktemp("var")),
        transaction.atomic(),
    ):
        _load_demo_and_more()
        yield
        transaction.set_rollback(True)


@pytest.fixture
def demo(demo_data, db):
    return None


# --- The tests ------------------------------------------------------------------------------
@pytest.mark.django_db
def test_empty_admin_screens_are_chinese(client, site):
    zh_admin(client)
    urls, _ = admin_screens(with_objects=False)
    failures = _check_pages(client, urls, Checker(user_data_strings()))
    assert not failures, _report(failures)


@pytest.mark.django_db
def test_admin_screens_with_demo_data_are_chinese(client, demo):
    zh_admin(client)
    urls, unfilled = admin_screens(with_objects=True)
    assert not unfilled, f"no demo object to render these screens with: {unfilled}"
    failures = _check_pages(client, urls, Checker(user_data_strings()))
    assert not failures, _report(failures)


@pytest.mark.django_db
def test_home_and_refused_forms_are_chinese(client, demo):
    """The admin home of every role (its panels are ours), and each of our add forms
    sent empty: the errors a person reads."""
    from django.contrib.auth import get_user_model

    checker = Checker(user_data_strings())
    failures = {}
    for user in get_user_model().objects.filter(groups__isnull=False).distinct():
        UserProfile.objects.update_or_create(user=user, defaults={"preferred_language": LANG})
        client.force_login(user)
        leaks = checker.leaks(visible_texts(client.get("/admin/").content.decode()))
        if leaks:
            failures[f"/admin/ as {user.username}"] = leaks
    zh_admin(client)
    posted = []
    for _route, name, pattern in admin_url_names():
        if pattern.pattern.converters and name != "campaigns_admin:publication_create":
            continue
        if not name.endswith(("create", ":add")) or name in NOT_SCREENS:
            continue
        converters = list(pattern.pattern.converters)
        kwargs = _objects_for(name, converters)[0] if converters else {}
        url = reverse(name, kwargs=kwargs)
        response = client.post(url, {})
        posted.append(url)
        if response.status_code != 200:
            failures[f"POST {url}"] = [f"HTTP {response.status_code} (an empty form was taken)"]
            continue
        leaks = checker.leaks(visible_texts(response.content.decode()))
        if leaks:
            failures[f"POST {url}"] = leaks
    assert len(posted) >= 8, posted
    assert not failures, _report(failures)


@pytest.mark.django_db
def test_public_pages_are_chinese(client, demo, settings):
    from campaigns.audiences import services as audiences
    from campaigns.audiences.models import MailingList, Subscription

    # Hub pages speak their own language (an English article stays English); the
    # others (home, blog index) the site's, here Chinese.
    urls = [
        p.url
        for p in Page.objects.live().specific()
        if p.url and p.depth > 1 and getattr(p, "language", LANG) in (LANG, "")
    ]
    settings.LANGUAGE_CODE = LANG
    mailing_list = MailingList.objects.filter(is_public=True).first() or MailingList.objects.first()
    if not mailing_list.is_public:
        mailing_list.is_public = True
        mailing_list.save()
    subscription = Subscription.objects.filter(mailing_list=mailing_list).first()
    # The subscriber's pages speak the subscriber's language (not the browser's).
    subscription.subscriber.language = LANG
    subscription.subscriber.save()
    token = audiences.subscriber_token(subscription.subscriber_id, mailing_list.pk)
    urls += [
        reverse("audiences:subscribe", args=[mailing_list.slug]),
        reverse("audiences:confirm", args=[audiences.confirmation_token(subscription)]),
        reverse("audiences:unsubscribe", args=[token]),
        reverse("audiences:preferences", args=[token]),
        reverse("audiences:unsubscribe", args=["not-a-token"]),
        reverse("audiences:preferences", args=["not-a-token"]),
        "/t/no-such-link",
        "/no-such-page/",
    ]
    checker = Checker(user_data_strings())
    with translation.override(LANG):
        failures = _check_pages(client, urls, checker, public=True)
        # The answers to a form: subscribed, confirmed, unsubscribed.
        for url, data in [
            (urls[-8], {"email": "neu@example.com", "name": "Neu", "website": ""}),
            (urls[-7], {}),
            (urls[-6], {}),
        ]:
            response = client.post(url, data, HTTP_ACCEPT_LANGUAGE=LANG)
            leaks = checker.leaks(visible_texts(response.content.decode()))
            if leaks:
                failures[f"POST {url}"] = leaks
    # A page that does not exist answers with our page, in words, not Django's English.
    missing = client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE=LANG).content.decode()
    if "Not Found" in missing or not CJK.search(" ".join(visible_texts(missing))):
        failures["/no-such-page/"] = ["Django's default English 404 page"]
    assert not failures, _report(failures)


@pytest.mark.django_db
def test_emails_are_chinese(client, demo, django_capture_on_commit_callbacks):
    """Notifications, the subscription confirmation and the chrome of a campaign email
    (footer, unsubscribe and preference links), each for a Chinese reader."""
    from campaigns import notifications
    from campaigns.audiences import services as audiences
    from campaigns.audiences.models import MailingList
    from campaigns.models import Campaign, Publication
    from channels.email import preview
    from channels.registry import get_adapter

    user = zh_admin(client)
    user.email = "zh@example.com"
    user.save()
    checker = Checker(user_data_strings() | {"x"})
    failures = {}

    def check(label, texts):
        leaks = checker.leaks([t.strip() for t in texts if t.strip()])
        if leaks:
            failures[label] = leaks

    def check_message(label, message):
        texts = [message.subject, *message.body.splitlines()]
        for content, mimetype in getattr(message, "alternatives", []):
            if "html" in mimetype:
                texts += visible_texts(content)
        check(f"{label}: {message.subject}", texts)

    from channels.manual.placement import notify_assignee
    from channels.models import ManualPlacementTask

    campaign = Campaign.objects.order_by("pk").first()
    # The text to paste stays in its article's language: a Chinese article's task, whose
    # email is Chinese throughout.
    tasks = ManualPlacementTask.objects.filter(assignee__isnull=False).order_by("pk")
    task = next(
        (t for t in tasks if getattr(t.publication.page.specific, "language", "") == LANG),
        tasks.first(),
    )
    UserProfile.objects.update_or_create(user=task.assignee, defaults={"preferred_language": LANG})
    task.assignee.email = task.assignee.email or "assignee@example.com"
    task.assignee.save()
    task.notified_at = None
    task.save()
    mail.outbox = []
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        notify_assignee(task.pk)
    assert mail.outbox, "no manual placement email was sent"
    for message in mail.outbox:
        check_message("manual placement email", message)
    mail.outbox = []
    # Whoever acts, and in whatever language, the reader's language counts.
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        notifications.notify_user(user, "x", campaign=campaign)
        notifications.notify_campaign_submitted(campaign, actor=None)
        email_publication = (
            Publication.objects.filter(
                channel_account__kind__startswith="email/", campaign__owner=user
            ).first()
            or Publication.objects.filter(channel_account__kind__startswith="email/").first()
        )
        email_publication.campaign.owner = user
        email_publication.campaign.save()
        notifications.notify_send_finished(email_publication, "Hi", sent=3, failed=1, skipped=0)
    assert mail.outbox, "no notification email was sent"
    for i, message in enumerate(mail.outbox):
        check_message(f"notification email {i}", message)

    mail.outbox = []
    mailing_list = MailingList.objects.order_by("pk").first()
    mailing_list.double_opt_in = True
    mailing_list.save()
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        audiences.subscribe("neu@example.com", mailing_list, method="form", language=LANG)
    assert mail.outbox, "no confirmation email was sent"
    for message in mail.outbox:
        check_message("confirmation email", message)

    # An issue's chrome speaks the language (one rendering for every recipient):
    # the Chinese issues must be Chinese throughout.
    chinese = [
        p
        for p in Publication.objects.filter(channel_account__kind__startswith="email/")
        if getattr(p.page.specific, "language", "") == LANG
    ]
    assert chinese, "the demo has no Chinese email issue to check"
    for publication in chinese:
        with translation.override("en"):
            rendered = get_adapter(publication.channel_account).render(publication)
            html = preview.preview_html(publication, rendered)
        check(
            f"campaign email {publication.pk} ({publication.effective_title})",
            [rendered.subject, *visible_texts(html), *rendered.text.splitlines()],
        )
    assert not failures, _report(failures)
