"""The send panel's checklist for an email or e-zine publication, in the spirit of
Mailchimp's: audience, from, subject, content, preview, test send, schedule. Each item
says what is set, or in words what is missing; the admin view turns an item's `fix`
into a link or a form on the page. Reads only: nothing here changes any state.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from campaigns.audiences import services as audience_services
from campaigns.audiences.models import MailingList
from campaigns.models import Publication
from campaigns.services import is_content_approved, validate_publication_at

from .config import SMTPConfig
from .models import EmailSend


@dataclass(frozen=True)
class CheckItem:
    key: str
    label: str
    ok: bool
    text: str
    # Where the fix is: "audience", "test" (forms on the panel), "account", "publication",
    # "page", "preview" (links); "" when nothing is to be done here.
    fix: str = ""
    # An optional step (a test send) that is not done shows as open, not as missing.
    required: bool = True


def audience_size(mailing_list, segment=None) -> int:
    """How many would receive it right now (the audiences app's one definition)."""
    return audience_services.audience_count(mailing_list=mailing_list, segment=segment)


def send_checklist(
    publication: Publication, last_test: dict | None = None, now=None
) -> list[CheckItem]:
    """Every item of the checklist, in the order the panel shows them. `last_test`:
    {"to": [addresses], "at": "YYYY-MM-DD HH:MM"} of this person's last test send."""
    config = SMTPConfig.from_account(publication.channel_account)
    send = EmailSend.objects.filter(publication=publication).select_related(
        "mailing_list", "segment"
    )
    send = send.first()
    return [
        _audience_item(send, config),
        _from_item(publication, config),
        _subject_item(publication),
        _content_item(publication),
        _preview_item(config),
        _test_item(last_test),
        _schedule_item(publication),
    ]


def is_ready(items: list[CheckItem]) -> bool:
    return all(item.ok for item in items if item.required)


def _audience_item(send: EmailSend | None, config: SMTPConfig) -> CheckItem:
    label = _("Audience")
    if send is not None and send.frozen_at:
        return CheckItem(
            "audience",
            label,
            True,
            ngettext(
                "Frozen when sending started: %(n)s recipient.",
                "Frozen when sending started: %(n)s recipients.",
                send.recipient_count,
            )
            % {"n": send.recipient_count},
        )
    if send is not None:
        mailing_list, segment = send.mailing_list, send.segment
    else:
        mailing_list = MailingList.objects.filter(slug=config.default_list).first()
        segment = None
    if mailing_list is None:
        return CheckItem(
            "audience", label, False, _("No mailing list chosen: choose one below."), "audience"
        )
    n = audience_size(mailing_list, segment)
    if segment is not None:
        where = _("Segment “%(segment)s” of the list “%(list)s”") % {
            "segment": segment.name,
            "list": mailing_list.name,
        }
    else:
        where = _("The list “%(list)s”") % {"list": mailing_list.name}
    if send is None:
        where = _("%(where)s (the sending account's default)") % {"where": where}
    if n == 0:
        return CheckItem(
            "audience",
            label,
            False,
            _("%(where)s has nobody to send to: choose another list or segment.")
            % {"where": where},
            "audience",
        )
    text = ngettext(
        "%(where)s: %(n)s recipient right now.", "%(where)s: %(n)s recipients right now.", n
    ) % {"where": where, "n": n}
    return CheckItem("audience", label, True, text, "audience")


def _from_item(publication: Publication, config: SMTPConfig) -> CheckItem:
    label = _("From")
    account = publication.channel_account.name
    no_from = "@" not in config.from_email
    no_postal = not config.postal_address.strip()
    # Whole sentences per case: fragments joined in code do not translate.
    if no_from and no_postal:
        text = _(
            "The sending account “%(account)s” has no from address and no postal address "
            "(the law requires one in every footer): complete the account."
        )
    elif no_from:
        text = _("The sending account “%(account)s” has no from address: complete the account.")
    else:
        text = _(
            "The sending account “%(account)s” has no postal address (the law requires one "
            "in every footer): complete the account."
        )
    if no_from or no_postal:
        return CheckItem("from", label, False, text % {"account": account}, "account")
    sender = f"{config.from_name} <{config.from_email}>" if config.from_name else config.from_email
    return CheckItem(
        "from",
        label,
        True,
        _("%(sender)s, through the account “%(account)s”.")
        % {"sender": sender, "account": account},
        "account",
    )


def _subject_item(publication: Publication) -> CheckItem:
    label = _("Subject")
    subject = publication.email_subject or getattr(publication.page.specific, "subject", "")
    if not subject.strip():
        return CheckItem(
            "subject",
            label,
            False,
            _("No subject: the page title “%(title)s” would be used. Set a subject line.")
            % {"title": publication.page.title},
            "publication",
        )
    return CheckItem("subject", label, True, f"“{subject}”", "publication")


def _content_item(publication: Publication) -> CheckItem:
    label = _("Content")
    page = publication.page.specific
    kind = page.specific_class._meta.verbose_name if page.specific_class else ""
    if is_content_approved(page):
        state = _("live") if page.live else _("approved")
        return CheckItem(
            "content",
            label,
            True,
            _("“%(title)s” (%(kind)s), %(state)s.")
            % {"title": page.title, "kind": kind, "state": state},
            "page",
        )
    if page.has_unpublished_changes and page.live:
        why = _("it has changes that are not approved yet")
    else:
        why = _("it is not approved yet")
    return CheckItem(
        "content",
        label,
        False,
        _("“%(title)s” (%(kind)s): %(why)s. Submit it for moderation or publish it.")
        % {"title": page.title, "kind": kind, "why": why},
        "page",
    )


def _preview_item(config: SMTPConfig) -> CheckItem:
    label = _("Preview")
    if not config.postal_address.strip():
        return CheckItem(
            "preview",
            label,
            False,
            _("The preview cannot be built: the sending account has no postal address."),
            "account",
        )
    return CheckItem(
        "preview",
        label,
        True,
        _("See the issue as a recipient will, with sample names."),
        "preview",
    )


def _test_item(last_test: dict | None) -> CheckItem:
    label = _("Test send")
    if last_test:
        return CheckItem(
            "test",
            label,
            True,
            _("Test sent to %(to)s at %(at)s.")
            % {"to": ", ".join(last_test.get("to", [])), "at": last_test.get("at", "")},
            "test",
            required=False,
        )
    return CheckItem(
        "test",
        label,
        False,
        _("No test sent yet: send one to yourself below (optional)."),
        "test",
        required=False,
    )


def _schedule_item(publication: Publication) -> CheckItem:
    label = _("Schedule")
    status = publication.status
    when = _local_time(publication.publish_at, publication.timezone)
    if status == Publication.Status.PUBLISHED:
        at = _local_time(publication.published_at, publication.timezone)
        return CheckItem("schedule", label, True, _("Went out at %(when)s.") % {"when": at or when})
    if status in (Publication.Status.QUEUED, Publication.Status.PUBLISHING):
        return CheckItem("schedule", label, True, _("Going out now."))
    if status == Publication.Status.SCHEDULED and when:
        return CheckItem(
            "schedule",
            label,
            True,
            _("Scheduled for %(when)s.") % {"when": when},
            "publication",
        )
    if status == Publication.Status.CANCELLED:
        return CheckItem("schedule", label, False, _("Cancelled: it will not go out."))
    reasons = validate_publication_at(publication, publication.publish_at)
    if status == Publication.Status.DRAFT:
        text = _("Not scheduled.")
    else:
        text = _("%(status)s.") % {"status": publication.get_status_display()}
    if when:
        text += " " + _("Publish time: %(when)s.") % {"when": when}
    if reasons:
        text += " " + _("Before it can go out: %(reasons)s") % {"reasons": " ".join(reasons)}
    else:
        text += " " + _("Set a publish time on the publication and schedule it.")
    return CheckItem("schedule", label, False, text, "publication")


def _local_time(value: datetime.datetime | None, zone_name: str) -> str:
    """A time in the publication's own zone, with the zone named."""
    if value is None:
        return ""
    try:
        local = value.astimezone(ZoneInfo(zone_name or "UTC"))
    except (ValueError, KeyError):
        local, zone_name = value, "UTC"
    return f"{local:%Y-%m-%d %H:%M} ({zone_name or 'UTC'})"
