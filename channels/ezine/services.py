"""E-zine runs: collect what is new, build and publish an EZineIssuePage, and hand its
email to the one publishing pipeline.

A run is all or nothing: the issue page, its Publication (created and made due through
the campaign services, so campaign and content approval apply) and the e-zine's next
run are committed together, or not at all; a run killed halfway is simply run again.
The dispatcher then publishes the Publication like any other: attempt records, lookup
after an unknown outcome, retries, and each subscriber mailed once by the fan-out.

A run with nothing new is skipped and says so (EZineRun "skipped"). A partner feed that
fails is recorded on the run and on the feed, and the issue still goes out. A run the
campaign services refuse (campaign not approved, account incomplete) is recorded as
failed with their reasons, the campaign owner is told, and the next run is the next
occurrence of the cadence. The cadence is read in the e-zine's own time zone.
"""

from __future__ import annotations

import datetime
import html as html_lib

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns import recurrence
from campaigns.models import Publication
from campaigns.notifications import notify_user
from campaigns.services import publish_publication_now, save_publication
from channels.email.audience import set_email_audience
from content.disclosure import disclosure_html
from content.models import BlogPostPage, EZineIssuePage, SoftArticlePage
from content.sanitize import sanitize_html

from . import feeds
from .models import EZine, EZineRun


def next_run_after(ezine: EZine, after: datetime.datetime) -> datetime.datetime | None:
    """The cadence's next occurrence strictly after `after`, read in the e-zine's time
    zone (so "Mondays 09:00 Europe/Berlin" is 08:00 UTC in winter, 07:00 in summer)."""
    zone = recurrence.get_zone(ezine.time_zone)
    local_after = after.astimezone(zone).replace(tzinfo=None)
    rule = recurrence.parse_rule(ezine.cadence, local_after.replace(second=0, microsecond=0))
    following = rule.after(local_after, inc=False)
    return None if following is None else recurrence.localise(following, zone)


def new_content(ezine: EZine, since: datetime.datetime | None) -> list[tuple[str, list]]:
    """[(section title, [pages])] of hub articles first published since `since`."""
    base = (
        BlogPostPage.objects.live().public().order_by("-first_published_at"),
        SoftArticlePage.objects.live().public().order_by("-first_published_at"),
    )

    def recent(qs):
        return qs.filter(first_published_at__gt=since) if since else qs

    sections = []
    tags = ezine.tag_list
    campaigns = list(ezine.section_campaigns.all())
    if not tags and not campaigns:
        pages = [p for qs in base for p in recent(qs)[:20]]
        if pages:
            sections.append((_("New on the hub"), pages))
        return sections
    for tag in tags:
        page_ids = [
            pid
            for pid, pub_tags in Publication.objects.values_list("page_id", "tags")
            if tag in [t.strip().lower() for t in pub_tags.split(",")]
        ]
        pages = [p for qs in base for p in recent(qs.filter(pk__in=page_ids))[:10]]
        if pages:
            sections.append((tag.title(), pages))
    for campaign in campaigns:
        page_ids = Publication.objects.filter(campaign=campaign).values_list("page_id", flat=True)
        pages = [p for qs in base for p in recent(qs.filter(pk__in=page_ids))[:10]]
        if pages:
            sections.append((campaign.name, pages))
    return sections


def _page_block(page) -> str:
    label = disclosure_html(page.specific)
    excerpt = html_lib.escape(page.specific.get_excerpt() if hasattr(page, "get_excerpt") else "")
    url = page.get_full_url() or ""
    return sanitize_html(
        f'{label}<h3><a href="{html_lib.escape(url)}">{html_lib.escape(page.title)}</a></h3>'
        f"<p>{excerpt}</p>"
    )


def collect_partner_items(ezine: EZine, now) -> tuple[list[tuple[str, list[str]]], list[dict]]:
    sections, errors = [], []
    for feed in ezine.partner_feeds.all():
        try:
            items = feeds.fetch_feed(
                feed.url, allow_internal=feed.is_internal, max_items=feed.max_items
            )
        except feeds.FeedError as exc:
            feed.last_error = str(exc)[:2000]
            feed.last_fetched_at = now
            feed.save(update_fields=["last_error", "last_fetched_at"])
            errors.append({"feed": feed.name, "url": feed.url, "error": str(exc)[:500]})
            continue
        feed.last_error = ""
        feed.last_fetched_at = now
        feed.save(update_fields=["last_error", "last_fetched_at"])
        if items:
            sections.append((feed.name, [feeds.item_html(i, feed.name) for i in items]))
    return sections, errors


def build_issue(
    ezine: EZine, now=None, partner_items=None
) -> tuple[EZineIssuePage | None, list[dict], str]:
    """Create and publish the next issue page. Returns (issue or None, feed errors,
    message). None when there is nothing new since the last issue. `partner_items`:
    what `collect_partner_items` returned, when the caller fetched the feeds already."""
    now = now or timezone.now()
    hub_sections = new_content(ezine, ezine.last_issue_at)
    partner_sections, feed_errors = partner_items or collect_partner_items(ezine, now)
    if not hub_sections and not partner_sections:
        since = ezine.last_issue_at.isoformat() if ezine.last_issue_at else _("the start")
        return None, feed_errors, _("Nothing new since %(since)s: no issue.") % {"since": since}
    body = []
    for title, pages in hub_sections:
        body.append(("heading", {"text": title, "level": "h2"}))
        body.extend(("html", _page_block(p)) for p in pages)
    for title, items in partner_sections:
        body.append(("heading", {"text": title, "level": "h2"}))
        body.extend(("html", item) for item in items)
    parent = ezine.page.specific
    last = EZineIssuePage.objects.child_of(parent).order_by("-issue_number").first()
    number = (last.issue_number + 1) if last else 1
    issue = EZineIssuePage(
        title=f"{parent.title} #{number}",
        slug=f"issue-{number}",
        issue_number=number,
        issue_date=timezone.localdate(now),
        body=body,
    )
    parent.add_child(instance=issue)
    issue.save_revision().publish()
    issue.refresh_from_db()
    return issue, feed_errors, _("Issue %(n)s published.") % {"n": number}


def run_ezine(ezine_id: int, now=None) -> EZineRun | None:
    """One run of a due e-zine (see the module docstring). Idempotent: a redelivered or
    duplicate task finds the e-zine no longer due and returns None."""
    now = now or timezone.now()
    unlocked = EZine.objects.get(pk=ezine_id)
    if not _is_due(unlocked, now):
        return None
    # Partner feeds are fetched before the transaction: no row lock is held over the
    # network (each feed may take the client's whole timeout).
    partner_items = collect_partner_items(unlocked, now)
    with transaction.atomic():
        ezine = EZine.objects.select_for_update().select_related("page").get(pk=ezine_id)
        if not _is_due(ezine, now):
            return None
        following = next_run_after(ezine, now)
        try:
            # A savepoint: a refused run leaves no issue page behind.
            with transaction.atomic():
                run = _issue_and_hand_over(ezine, now, partner_items)
        except ValidationError as exc:
            run = _record_refused_run(ezine, exc)
        ezine.next_run_at = following
        # A cadence with an end (COUNT, UNTIL) that has run its last: the e-zine stops,
        # so no tick or redelivered task sends that last issue again.
        ezine.is_active = following is not None
        ezine.save(update_fields=["last_issue_at", "next_run_at", "is_active"])
    return run


def _is_due(ezine: EZine, now) -> bool:
    return ezine.is_active and (ezine.next_run_at is None or ezine.next_run_at <= now)


def _issue_and_hand_over(ezine: EZine, now, partner_items) -> EZineRun:
    issue, feed_errors, message = build_issue(ezine, now, partner_items)
    if issue is None:
        return EZineRun.objects.create(
            ezine=ezine, outcome=EZineRun.Outcome.SKIPPED, message=message, feed_errors=feed_errors
        )
    publication = Publication(
        campaign=ezine.campaign,
        page=issue,
        channel_account=ezine.channel_account,
        email_subject=issue.title,
        timezone=ezine.time_zone,
    )
    save_publication(publication, schedule=False)
    set_email_audience(publication, ezine.mailing_list)
    publish_publication_now(publication, now=now)
    ezine.last_issue_at = now
    return EZineRun.objects.create(
        ezine=ezine,
        outcome=EZineRun.Outcome.ISSUED,
        message=message,
        issue=issue,
        publication=publication,
        feed_errors=feed_errors,
    )


def _record_refused_run(ezine: EZine, error: ValidationError) -> EZineRun:
    reasons = " ".join(error.messages)
    message = _("The issue was not sent: %(reasons)s") % {"reasons": reasons}
    owner = ezine.campaign.owner
    if owner is not None:
        notify_user(
            owner,
            _("E-zine “%(ezine)s”: %(message)s") % {"ezine": ezine, "message": message},
            campaign=ezine.campaign,
        )
    return EZineRun.objects.create(ezine=ezine, outcome=EZineRun.Outcome.FAILED, message=message)


def due_ezine_ids(now=None) -> list[int]:
    """The active e-zines whose run is due. Nothing is claimed here: `run_ezine` locks
    the e-zine and moves `next_run_at` in the run's own transaction, so a run whose
    worker died is still due and runs again, and a duplicate task finds nothing to do."""
    now = now or timezone.now()
    ids = []
    for ezine in EZine.objects.filter(is_active=True):
        if ezine.next_run_at is None:
            ezine.next_run_at = next_run_after(ezine, now)
            ezine.save(update_fields=["next_run_at"])
        elif ezine.next_run_at <= now:
            ids.append(ezine.pk)
    return ids
