"""What happens to feedback: a form post opens a case, staff answer it, it falls due
and, past due, escalates once; the person follows it through a signed status link.

Every state change of a Case is here, each one also written to the case's thread
(CaseEntry), which the admin's case page, the person's status page and the person's
timeline read.

The person: the subscriber with the address typed, found or created through
audiences.services.get_or_create_subscriber. A feedback form subscribes nobody to
anything (no consent was asked); like the landing pages it only fills a missing name or
phone, never overwrites what is known (anyone can type anyone's address). An address
erased on request (audiences' erased.py) gets its case but no subscriber again.

Emails to the person (the confirmation with the reference and status link, each staff
reply) go the way the audiences' double opt-in confirmation goes: Django's mail (the
path of send_mail), in the case's language (Content-Language says which), after the
transaction commits, and only while the address is not suppressed (audiences'
is_suppressed: the suppression list and the erased addresses' keys). Anyone can type
any address, so a suppressed or erased one still gets its case, which staff see marked
"we may not email this address", but no email. A mail server that fails is logged; the
case is stored either way.

A case that moves back to open (the person writes again to a waiting or resolved case,
or staff reopen a resolved or closed one) is due again as if opened then, and may
escalate again (once) if that falls overdue.

Escalation exactly once: `escalate_overdue` claims each overdue unresolved case with
one conditional UPDATE (`... WHERE escalated_at IS NULL`) and notifies in the same
transaction. Two workers running at once, or a tick run twice, both try the UPDATE;
only one changes a row (on PostgreSQL the second waits for the first's row lock and then
finds escalated_at set), so only one notifies.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from campaigns import notifications
from campaigns.audiences import services as audiences
from campaigns.team import team_time_zone

from .calendar import WorkCalendar, parse_holidays
from .models import Case, CaseEntry, FeedbackPage, FeedbackSettings

logger = logging.getLogger(__name__)

STATUS_SALT = "feedback.case-status"
Kind = CaseEntry.Kind
Status = Case.Status


class CaseError(ValueError):
    """An action that cannot be done to this case; the message is safe to show."""


# --- the working calendar ----------------------------------------------------------------
def work_calendar() -> WorkCalendar:
    s = FeedbackSettings.load()
    return WorkCalendar(
        time_zone=s.time_zone or team_time_zone(),
        weekdays=s.weekdays(),
        starts=s.day_starts,
        ends=s.day_ends,
        holidays=parse_holidays(s.holidays or ""),
    )


def due_time(opened_at) -> timezone.datetime:
    """When a case opened at `opened_at` is due (calendar.py states the rule)."""
    days = max(1, FeedbackSettings.load().due_working_days)
    return work_calendar().add_working_days(opened_at, days)


# --- opening a case ----------------------------------------------------------------------
def _person(email: str, name: str, phone: str, language: str):
    """The subscriber with this address, found or created; None for an address erased
    on request (the person is not re-created)."""
    if audiences.erased_among([email]):
        return None
    subscriber = audiences.get_or_create_subscriber(email, name=name[:200], language=language)
    changed = []
    if not subscriber.name and name:
        subscriber.name = name[:200]
        changed.append("name")
    attributes = dict(subscriber.attributes or {})
    if phone and not attributes.get("phone"):
        attributes["phone"] = phone
        subscriber.attributes = attributes
        changed.append("attributes")
    if changed:
        subscriber.save(update_fields=[*changed, "updated_at"])
    return subscriber


def open_case(page: FeedbackPage | None, data: dict, *, language: str = "", embedded=False):
    """A case from a valid FeedbackForm's cleaned data; the confirmation is mailed after
    commit. Returns the case."""
    now = timezone.now()
    language = language or (page.language if page else settings.LANGUAGE_CODE)
    with transaction.atomic():
        email = audiences.normalise_email(data["email"])
        subscriber = _person(email, data.get("name", ""), data.get("phone", ""), language)
        case = Case.objects.create(
            page=page,
            category=data["category"],
            subscriber=subscriber,
            name=data.get("name", ""),
            email=subscriber.email if subscriber else email,
            phone=data.get("phone", ""),
            subject=data.get("subject", ""),
            order_reference=data.get("order_reference", ""),
            language=language,
            embedded=embedded,
            opened_at=now,
            due_at=due_time(now),
        )
        case.reference = f"FB-{now.year}-{case.pk:06d}"
        case.save(update_fields=["reference"])
        CaseEntry.objects.create(case=case, kind=Kind.MESSAGE, body=data["message"], created_at=now)
        transaction.on_commit(lambda: _mail(case, "confirmation"))
    return case


# --- the status link ---------------------------------------------------------------------
def status_token(case: Case) -> str:
    return signing.dumps({"c": case.pk}, salt=STATUS_SALT)


def case_for_token(token: str) -> Case:
    """The case a status link names. Raises CaseError for a bad or erased one."""
    try:
        data = signing.loads(token, salt=STATUS_SALT)
    except signing.BadSignature:
        raise CaseError(_("This link is invalid.")) from None
    case = None
    if isinstance(data, dict) and isinstance(data.get("c"), int):
        case = Case.objects.filter(pk=data["c"], erased=False).first()
    if case is None:
        raise CaseError(_("This link is invalid."))
    return case


def status_url(case: Case) -> str:
    return audiences.absolute_url(reverse("feedback:status", args=[status_token(case)]))


def public_thread(case: Case) -> QuerySet:
    """What the person sees: their messages, staff replies and status changes; never
    internal notes, assignments or escalations."""
    return case.entries.filter(kind__in=CaseEntry.PUBLIC).select_related("author")


# --- emails to the person ----------------------------------------------------------------
def may_email(case: Case) -> bool:
    """Whether the person may be mailed: an address, not suppressed nor erased."""
    return bool(case.email) and not audiences.is_suppressed(case.email)


def _mail(case: Case, kind: str, entry: CaseEntry | None = None) -> None:
    if not may_email(case):
        logger.info("feedback email %s for case %s not sent: address suppressed", kind, case.pk)
        return
    language = case.language or settings.LANGUAGE_CODE
    with translation.override(language):
        context = {"case": case, "entry": entry, "status_url": status_url(case)}
        if kind == "confirmation":
            subject = _("We received your message (%(reference)s)")
        else:
            subject = _("A reply to your message (%(reference)s)")
        subject = subject % {"reference": case.reference}
        body = render_to_string(f"feedback/email/{kind}.txt", context)
    try:
        EmailMessage(
            subject, body, None, [case.email], headers={"Content-Language": language}
        ).send()
    except Exception:  # noqa: BLE001 - the case and its thread are stored either way
        logger.exception("feedback email %s for case %s not sent", kind, case.pk)


# --- what the person does ----------------------------------------------------------------
def add_person_message(case: Case, text: str) -> CaseEntry:
    """The person writes again from the status page: a waiting or resolved case opens
    again; a closed one takes no more messages."""
    if case.status == Status.CLOSED:
        raise CaseError(_("This case is closed. Please send a new message from the form."))
    now = timezone.now()
    with transaction.atomic():
        entry = CaseEntry.objects.create(case=case, kind=Kind.MESSAGE, body=text, created_at=now)
        if case.status in (Status.WAITING, Status.RESOLVED):
            _set_status(case, Status.OPEN, None, now)
    return entry


# --- what staff do -----------------------------------------------------------------------
def _set_status(case: Case, status: str, user, now) -> None:
    old = case.status
    if old == status:
        return
    case.status = status
    case.resolved_at = now if status in (Status.RESOLVED, Status.CLOSED) else None
    fields = ["status", "resolved_at", "updated_at"]
    reopened = old in (Status.RESOLVED, Status.CLOSED) and status in Case.UNRESOLVED
    if reopened or (old == Status.WAITING and status == Status.OPEN):
        # Open again: due again from now, and a new overdue escalates again (once).
        case.due_at = due_time(now)
        case.escalated_at = None
        fields += ["due_at", "escalated_at"]
    case.save(update_fields=fields)
    CaseEntry.objects.create(
        case=case, kind=Kind.STATUS, author=user, data={"from": old, "to": status}, created_at=now
    )


def set_status(case: Case, status: str, user) -> None:
    if status not in Status.values:
        raise CaseError(_("Unknown status."))
    with transaction.atomic():
        _set_status(case, status, user, timezone.now())


def reply(case: Case, user, text: str) -> CaseEntry:
    """A staff reply, emailed to the person (after commit). A new case becomes open."""
    now = timezone.now()
    with transaction.atomic():
        entry = CaseEntry.objects.create(
            case=case, kind=Kind.REPLY, author=user, body=text, created_at=now
        )
        if case.status == Status.NEW:
            _set_status(case, Status.OPEN, user, now)
        transaction.on_commit(lambda: _mail(case, "reply", entry))
    return entry


def add_note(case: Case, user, text: str) -> CaseEntry:
    """An internal note: staff only, never shown or mailed to the person."""
    return CaseEntry.objects.create(
        case=case, kind=Kind.NOTE, author=user, body=text, created_at=timezone.now()
    )


def staff_users() -> QuerySet:
    """Who a case may be assigned to: active users who may change cases."""
    return (
        get_user_model()
        .objects.with_perm(
            "feedback.change_case",
            is_active=True,
            include_superusers=True,
            backend="django.contrib.auth.backends.ModelBackend",
        )
        .order_by("username")
    )


def assign(case: Case, user, assignee) -> None:
    """Give the case to `assignee` (None: to nobody) and tell them."""
    if case.assignee_id == (assignee.pk if assignee else None):
        return
    with transaction.atomic():
        case.assignee = assignee
        case.save(update_fields=["assignee", "updated_at"])
        CaseEntry.objects.create(
            case=case,
            kind=Kind.ASSIGNED,
            author=user,
            data={"to": assignee.pk if assignee else None},
            created_at=timezone.now(),
        )
        if assignee is not None and assignee != user:
            notifications.notify_user(
                assignee,
                lambda: (
                    _("Feedback case %(reference)s was assigned to you: %(url)s")
                    % {"reference": case.reference, "url": case_admin_url(case)}
                ),
            )


def case_admin_url(case: Case) -> str:
    return notifications.absolute_url(reverse("feedback_admin:case", args=[case.pk]))


# --- escalation --------------------------------------------------------------------------
def escalation_group_members(case: Case) -> list:
    """The managers who hear of an overdue case: the active members of the group named
    FEEDBACK_ESCALATION_GROUP (the assignee's managers; with no assignee, the same
    group)."""
    return list(
        get_user_model()
        .objects.filter(groups__name=settings.FEEDBACK_ESCALATION_GROUP, is_active=True)
        .distinct()
        .order_by("pk")
    )


def overdue(now=None) -> QuerySet:
    now = now or timezone.now()
    return Case.objects.filter(status__in=Case.UNRESOLVED, due_at__lte=now)


def escalate_overdue(now=None) -> list[int]:
    """Escalate every overdue unresolved case not escalated yet, each exactly once.
    Returns the ids this call escalated."""
    now = now or timezone.now()
    candidates = list(
        overdue(now).filter(escalated_at__isnull=True).values_list("pk", flat=True)[:500]
    )
    done = []
    for pk in candidates:
        with transaction.atomic():
            claimed = Case.objects.filter(
                pk=pk, escalated_at__isnull=True, status__in=Case.UNRESOLVED
            ).update(escalated_at=now)
            if not claimed:
                continue
            case = Case.objects.select_related("assignee").get(pk=pk)
            CaseEntry.objects.create(case=case, kind=Kind.ESCALATED, created_at=now)
            _notify_escalation(case)
        done.append(pk)
    return done


def _notify_escalation(case: Case) -> None:
    members = escalation_group_members(case)
    if not members:
        logger.warning(
            "case %s is overdue but group %r has no members",
            case.reference,
            settings.FEEDBACK_ESCALATION_GROUP,
        )
    url = case_admin_url(case)
    who = notifications.display_name(case.assignee) if case.assignee else None
    for member in members:
        notifications.notify_user(
            member,
            lambda: (
                _("Overdue feedback case %(reference)s (assigned to %(user)s): %(url)s")
                % {"reference": case.reference, "user": who, "url": url}
                if who
                else _("Overdue feedback case %(reference)s (nobody assigned): %(url)s")
                % {"reference": case.reference, "url": url}
            ),
            level=notifications.Notification.Level.WARNING,
        )


# --- reading for the inbox ---------------------------------------------------------------
def filter_cases(params: dict, now=None) -> QuerySet:
    """The inbox list: filters status, category, assignee ("me", "none" or an id) and
    overdue ("1")."""
    now = now or timezone.now()
    qs = Case.objects.select_related("assignee").order_by("due_at", "pk")
    status = params.get("status") or ""
    if status == "unresolved" or not status:
        qs = qs.filter(status__in=Case.UNRESOLVED)
    elif status in Status.values:
        qs = qs.filter(status=status)
    category = params.get("category") or ""
    if category:
        qs = qs.filter(category=category)
    assignee = params.get("assignee") or ""
    if assignee == "none":
        qs = qs.filter(assignee__isnull=True)
    elif assignee.isdigit():
        qs = qs.filter(assignee_id=int(assignee))
    if params.get("overdue") == "1":
        qs = qs.filter(status__in=Case.UNRESOLVED, due_at__lte=now)
    query = (params.get("q") or "").strip()
    if query:
        qs = qs.filter(
            Q(reference__iexact=query) | Q(subject__icontains=query) | Q(email__iexact=query)
        )
    return qs


def due_for(user, now=None) -> QuerySet:
    """The home panel: the user's unresolved cases due by the end of today (in the
    team calendar's zone) or overdue, soonest first."""
    now = now or timezone.now()
    zone = work_calendar().zone
    local = now.astimezone(zone)
    end_of_day = local.replace(hour=23, minute=59, second=59, microsecond=0)
    return (
        Case.objects.filter(assignee=user, status__in=Case.UNRESOLVED, due_at__lte=end_of_day)
        .order_by("due_at", "pk")
        .only("pk", "reference", "subject", "status", "due_at", "category")
    )
