"""Audience business logic: subscribing with consent, confirming, unsubscribing,
suppressing, segment queries and the signed links in every email.

Every function here is safe to call twice (idempotent) unless its docstring says not.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import hmac
import unicodedata
from urllib.parse import quote

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.urls import get_script_prefix, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from . import changes, erased, estimates
from .models import MailingList, Segment, Subscriber, Subscription, Suppression
from .segments import (
    SegmentError,
    attribute_equals_condition,
    list_member_condition,
    rules_condition,
    tags_condition,
)

TOKEN_SALT = "audiences.subscriber-link"
PREVIEW_TOKEN_SALT = "audiences.preview-link"
CONFIRM_SALT = "audiences.confirm"
# Unsubscribe links must keep working long after the email was sent (people dig old
# newsletters out of their archive), so they are valid for well over a year.
LINK_MAX_AGE = datetime.timedelta(days=400)
CONFIRM_MAX_AGE = datetime.timedelta(days=14)


class AudienceError(ValueError):
    """Bad input for an audience operation; the message is safe to show."""


# --- consent ---------------------------------------------------------------------------
def hash_ip(ip: str | None) -> str:
    """A keyed hash of the source IP: proves where consent came from without storing it."""
    if not ip:
        return ""
    return hmac.new(settings.SECRET_KEY.encode(), ip.encode(), hashlib.sha256).hexdigest()


def normalise_email(email: str) -> str:
    # NFC: the same internationalised address typed on two systems is one subscriber.
    email = unicodedata.normalize("NFC", (email or "").strip())
    if "@" not in email:
        return email
    local, _sep, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


def get_or_create_subscriber(email: str, **fields) -> Subscriber:
    email = normalise_email(email)
    subscriber = Subscriber.objects.filter(email__iexact=email).first()
    if subscriber:
        return subscriber
    tags = fields.pop("tags", None)
    subscriber = Subscriber(email=email, **fields)
    if tags:
        subscriber.set_tags(tags)
    try:
        with transaction.atomic():
            subscriber.save()
    except IntegrityError:  # created concurrently by another request
        subscriber = Subscriber.objects.get(email__iexact=email)
    return subscriber


def subscribe(
    email: str,
    mailing_list: MailingList,
    *,
    method: str,
    consent_text: str = "",
    consent_basis: str = "",
    ip: str | None = None,
    ip_hash: str | None = None,
    name: str = "",
    language: str = "",
    double_opt_in: bool | None = None,
    source: str = "",
) -> Subscription:
    """Record consent and subscribe `email` to `mailing_list`.

    Form sign-ups follow the list's double opt-in setting (on by default): the
    subscription stays pending and a confirmation email is sent. Imports and API calls
    must state their consent basis. A suppressed address is refused (AudienceError).
    Subscribing an already subscribed address changes nothing. A pending address gets
    at most one confirmation email per AUDIENCES_CONFIRMATION_PERIOD_SECONDS, however
    often it is subscribed. `ip_hash` is hash_ip(ip) computed earlier (the raw address
    never leaves the request). The change log (changes.py) gets one entry for a new or
    renewed subscription, named by `source` (default: the method).
    """
    source_ip_hash = ip_hash if ip_hash is not None else hash_ip(ip)
    if method in (Subscription.Method.IMPORT, Subscription.Method.API) and not consent_basis:
        raise AudienceError(_("Imports and API calls must state the consent basis."))
    email = normalise_email(email)
    if is_suppressed(email):
        raise AudienceError(_("This address is on the suppression list."))
    extra = {"name": name}
    if language:
        extra["language"] = language
    subscriber = get_or_create_subscriber(email, **extra)
    if double_opt_in is None:
        double_opt_in = method == Subscription.Method.FORM and mailing_list.double_opt_in
    now = timezone.now()
    status = Subscription.Status.PENDING if double_opt_in else Subscription.Status.SUBSCRIBED
    with transaction.atomic():
        subscription, created = Subscription.objects.select_for_update().get_or_create(
            subscriber=subscriber,
            mailing_list=mailing_list,
            defaults={
                "status": status,
                "consent_at": now,
                "consent_method": method,
                "consent_text": consent_text or mailing_list.consent_text,
                "consent_basis": consent_basis,
                "source_ip_hash": source_ip_hash,
                "confirmed_at": None if double_opt_in else now,
            },
        )
        if not created and subscription.status != Subscription.Status.SUBSCRIBED:
            # Re-subscribing after an unsubscribe is new consent: record it afresh.
            subscription.status = status
            subscription.consent_at = now
            subscription.consent_method = method
            subscription.consent_text = consent_text or mailing_list.consent_text
            subscription.consent_basis = consent_basis
            subscription.source_ip_hash = source_ip_hash
            subscription.confirmed_at = None if double_opt_in else now
            subscription.unsubscribed_at = None
            subscription.save()
            changes.record(
                subscriber.pk,
                changes.Kind.RESUBSCRIBED,
                mailing_list_id=mailing_list.pk,
                detail=changes.consent_detail(subscription, source),
                at=now,
            )
        elif created:
            changes.record(
                subscriber.pk,
                changes.Kind.SUBSCRIBED,
                mailing_list_id=mailing_list.pk,
                detail=changes.consent_detail(subscription, source),
                at=now,
            )
    claimed = subscription.status == Subscription.Status.PENDING and _claim_confirmation(subscriber)
    if claimed:
        try:
            send_confirmation_email(subscription)
        except Exception:
            # Not sent: the next post may try again instead of waiting out the period.
            Subscriber.objects.filter(pk=subscriber.pk, confirmation_sent_at=claimed).update(
                confirmation_sent_at=None
            )
            raise
    return subscription


def _claim_confirmation(subscriber: Subscriber) -> datetime.datetime | None:
    """The claim's time for the one caller per period that may mail `subscriber` a
    confirmation, else None: an atomic update, so concurrent posts from any number of
    processes claim it once."""
    now = timezone.now()
    since = now - datetime.timedelta(seconds=settings.AUDIENCES_CONFIRMATION_PERIOD_SECONDS)
    claimed = (
        Subscriber.objects.filter(pk=subscriber.pk)
        .filter(Q(confirmation_sent_at__isnull=True) | Q(confirmation_sent_at__lt=since))
        .update(confirmation_sent_at=now)
    )
    return now if claimed else None


def subscribe_from_form(
    list_id: int, email: str, *, name: str = "", language: str = "", ip_hash: str = ""
) -> Subscription | None:
    """The subscribe form's post, run by a worker: subscribe with the list's consent
    text, or quietly nothing (a suppressed address, a list no longer public). Nothing
    here reaches the person who posted: the form answered at once, the same way for
    every address, so it never tells whether one is known, subscribed or suppressed."""
    mailing_list = MailingList.objects.filter(pk=list_id, is_public=True).first()
    if mailing_list is None:
        return None
    try:
        return subscribe(
            email,
            mailing_list,
            method=Subscription.Method.FORM,
            consent_text=mailing_list.consent_text,
            ip_hash=ip_hash,
            name=name,
            language=language,
        )
    except AudienceError:
        return None


def confirmation_token(subscription: Subscription) -> str:
    return signing.dumps({"sub": subscription.pk}, salt=CONFIRM_SALT)


def send_confirmation_email(subscription: Subscription) -> None:
    url = absolute_url(
        reverse("audiences:confirm", kwargs={"token": confirmation_token(subscription)})
    )
    with translation.override(subscription.subscriber.language or "en"):
        context = {"subscription": subscription, "confirm_url": url}
        subject = _("Please confirm your subscription to %(list)s") % {
            "list": subscription.mailing_list.name
        }
        body = render_to_string("audiences/email/confirm.txt", context)
    send_mail(subject, body, None, [subscription.subscriber.email])


def confirm_subscription(token: str) -> Subscription:
    """Confirm a double opt-in subscription. Idempotent; raises AudienceError for a bad
    or expired link."""
    try:
        data = signing.loads(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
    except signing.BadSignature:
        raise AudienceError(_("This confirmation link is invalid or has expired.")) from None
    with transaction.atomic():
        subscription = (
            Subscription.objects.select_for_update()
            .select_related("subscriber", "mailing_list")
            .filter(pk=data.get("sub"))
            .first()
        )
        if subscription is None:
            raise AudienceError(_("This confirmation link is invalid or has expired."))
        if subscription.status == Subscription.Status.PENDING:
            subscription.status = Subscription.Status.SUBSCRIBED
            subscription.confirmed_at = timezone.now()
            subscription.save(update_fields=["status", "confirmed_at"])
            changes.record(
                subscription.subscriber_id,
                changes.Kind.CONFIRMED,
                mailing_list_id=subscription.mailing_list_id,
                at=subscription.confirmed_at,
            )
    return subscription


# --- unsubscribe and suppression -------------------------------------------------------
def is_suppressed(email: str) -> bool:
    """On the suppression list: the address itself, or its key if the person was erased
    (erased.py)."""
    email = normalise_email(email)
    return Suppression.objects.filter(email__iexact=email).exists() or erased.is_erased(email)


def erased_among(emails) -> set[str]:
    """Which of `emails` belong to people erased on request (erased.py)."""
    return erased.erased_among(emails)


def suppress_address(email: str, reason: str, detail: str = "", *, actor=None) -> Suppression:
    """Put `email` on the suppression list (idempotent; the first reason is kept)."""
    email = normalise_email(email)
    existing = Suppression.objects.filter(email__iexact=email).first()
    if existing:
        return existing
    try:
        with transaction.atomic():
            created = Suppression.objects.create(email=email, reason=reason, detail=detail[:2000])
            for person in Subscriber.objects.filter(email__iexact=email).values_list("pk"):
                changes.record(
                    person[0],
                    changes.Kind.SUPPRESSED,
                    detail={"reason": reason},
                    actor=actor,
                    at=created.created_at,
                )
            return created
    except IntegrityError:
        return Suppression.objects.get(email__iexact=email)


def unsuppress_address(email: str, *, actor=None) -> int:
    """Take `email` off the suppression list (staff only); how many rows went."""
    email = normalise_email(email)
    with transaction.atomic():
        gone, _by_model = Suppression.objects.filter(email__iexact=email).delete()
        if gone:
            for person in Subscriber.objects.filter(email__iexact=email).values_list("pk"):
                changes.record(person[0], changes.Kind.UNSUPPRESSED, actor=actor)
    return gone


def unsubscribe(
    subscriber: Subscriber,
    mailing_list: MailingList | None = None,
    *,
    everything: bool = False,
    source: str = "",
) -> int:
    """Unsubscribe from one list, or from everything (which also suppresses the
    address). Idempotent: returns how many subscriptions changed (0 the second time)."""
    now = timezone.now()
    qs = Subscription.objects.filter(subscriber=subscriber).exclude(
        status=Subscription.Status.UNSUBSCRIBED
    )
    if mailing_list is not None and not everything:
        qs = qs.filter(mailing_list=mailing_list)
    with transaction.atomic():
        lists = list(qs.select_for_update().values_list("mailing_list_id", flat=True))
        changed = qs.filter(mailing_list_id__in=lists).update(
            status=Subscription.Status.UNSUBSCRIBED, unsubscribed_at=now
        )
        for list_id in lists:
            changes.record(
                subscriber.pk,
                changes.Kind.UNSUBSCRIBED,
                mailing_list_id=list_id,
                detail={"source": source} if source else None,
                at=now,
            )
    if everything or mailing_list is None:
        suppress_address(subscriber.email, Suppression.Reason.UNSUBSCRIBE, "unsubscribe link")
    return changed


def update_preferences(
    subscriber: Subscriber, *, list_ids: list[int], language: str, name: str | None = None
) -> None:
    """Preference centre: keep only `list_ids` among public lists (re-subscribing a
    public list the subscriber left counts as new form consent), set the language."""
    wanted = set(int(i) for i in list_ids)
    public = MailingList.objects.filter(is_public=True)
    for mailing_list in public:
        current = Subscription.objects.filter(subscriber=subscriber, mailing_list=mailing_list)
        current = current.first()
        is_on = current is not None and current.status == Subscription.Status.SUBSCRIBED
        if mailing_list.pk in wanted and not is_on:
            if not is_suppressed(subscriber.email):
                subscribe(
                    subscriber.email,
                    mailing_list,
                    method=Subscription.Method.FORM,
                    consent_text=_("Chosen in the preference centre."),
                    double_opt_in=False,  # the signed link already proves the address
                    source="preferences",
                )
        elif mailing_list.pk not in wanted and is_on:
            unsubscribe(subscriber, mailing_list, source="preferences")
    fields = ["language"]
    if language in dict(Subscriber._meta.get_field("language").choices):
        subscriber.language = language
    if name is not None:
        subscriber.name = name[:200]
        fields.append("name")
    subscriber.save(update_fields=fields + ["updated_at"])


def set_tags(subscriber: Subscriber, tags, *, actor=None, source: str = "admin") -> None:
    """Replace a person's tags (normalised), logging those added and removed."""
    with transaction.atomic():
        current = Subscriber.objects.select_for_update().filter(pk=subscriber.pk)
        before = current.values_list("tags", flat=True).first() or []
        subscriber.set_tags(tags)
        subscriber.save(update_fields=["tags", "updated_at"])
        changes.tags_changed(subscriber, before, subscriber.tags, actor=actor, source=source)


# --- signed links ----------------------------------------------------------------------
def absolute_url(path: str) -> str:
    return settings.SITE_BASE_URL.rstrip("/") + path


def subscriber_token(subscriber_id: int, list_id: int | None = None, publication_id=None) -> str:
    """A signed, opaque token naming a subscriber (and the list and publication the
    email was for). Used by unsubscribe and preference links; valid LINK_MAX_AGE."""
    data = {"s": subscriber_id}
    if list_id:
        data["l"] = list_id
    if publication_id:
        data["p"] = publication_id
    return signing.dumps(data, salt=TOKEN_SALT, compress=True)


def read_subscriber_token(token: str) -> dict:
    """Decode a token from subscriber_token. Raises AudienceError when tampered/expired."""
    try:
        data = signing.loads(token, salt=TOKEN_SALT, max_age=LINK_MAX_AGE)
    except signing.BadSignature:
        raise AudienceError(_("This link is invalid or has expired.")) from None
    if not isinstance(data, dict) or "s" not in data:
        raise AudienceError(_("This link is invalid or has expired."))
    return data


def preview_link_token(
    email: str, *, list_id: int | None = None, publication_id=None, language: str = ""
) -> str:
    """A signed token for the unsubscribe and preference links of a preview or a test
    email. It names an address, not a subscriber (whoever a test goes to need not be
    one), and opens the real pages in test mode, where nothing is changed or recorded.
    Signed with its own salt: it can never pass for a subscriber's token."""
    data = {"t": email}
    if list_id:
        data["l"] = list_id
    if publication_id:
        data["p"] = publication_id
    if language:
        data["lang"] = language
    return signing.dumps(data, salt=PREVIEW_TOKEN_SALT, compress=True)


def read_preview_link_token(token: str) -> dict | None:
    """The data of a token from preview_link_token; None for any other token."""
    try:
        data = signing.loads(token, salt=PREVIEW_TOKEN_SALT, max_age=LINK_MAX_AGE)
    except signing.BadSignature:
        return None
    return data if isinstance(data, dict) and "t" in data else None


def confirmation_language(token: str) -> str:
    """The stored language of whoever a confirmation link is for ("" when the link is
    not valid), so the confirmation page speaks it."""
    try:
        data = signing.loads(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
    except signing.BadSignature:
        return ""
    if not isinstance(data, dict):
        return ""
    subscription = Subscription.objects.filter(pk=data.get("sub")).select_related("subscriber")
    subscription = subscription.first()
    return subscription.subscriber.language if subscription else ""


def unsubscribe_url(token: str) -> str:
    return _token_url("audiences:unsubscribe", token)


def preferences_url(token: str) -> str:
    return _token_url("audiences:preferences", token)


_TOKEN_PLACEHOLDER = "0TOKEN0"


@functools.lru_cache(maxsize=32)
def _token_url_parts(view_name: str, base_url: str, script_prefix: str, urlconf: str):
    url = base_url.rstrip("/") + reverse(view_name, kwargs={"token": _TOKEN_PLACEHOLDER})
    head, _sep, tail = url.partition(_TOKEN_PLACEHOLDER)
    return head, tail


def _token_url(view_name: str, token: str) -> str:
    """What absolute_url(reverse(view_name, token=token)) returns, without resolving
    the pattern again for every recipient of a send (twice per message)."""
    if not token or "/" in token:  # not a signed token: let reverse() refuse it
        return absolute_url(reverse(view_name, kwargs={"token": token}))
    head, tail = _token_url_parts(
        view_name, settings.SITE_BASE_URL, get_script_prefix(), str(settings.ROOT_URLCONF)
    )
    # The quoting reverse() applies to a path argument.
    return head + quote(token, safe="!$&'()*+,;=/~:@") + tail


def unsubscribe_by_token(token: str) -> tuple[Subscriber, int]:
    """Unsubscribe whoever `token` names from the list it names (or from everything).
    Idempotent. Returns (subscriber, number of subscriptions changed)."""
    data = read_subscriber_token(token)
    subscriber = Subscriber.objects.filter(pk=data["s"]).first()
    if subscriber is None:
        raise AudienceError(_("This link is invalid or has expired."))
    mailing_list = MailingList.objects.filter(pk=data.get("l")).first() if data.get("l") else None
    changed = unsubscribe(subscriber, mailing_list)
    if data.get("p"):
        _record_unsubscribe_event(data["p"], subscriber.pk)
    return subscriber, changed


def _record_unsubscribe_event(publication_id: int, subscriber_id: int) -> None:
    try:
        from analytics.events import record_events
    except ImportError:  # analytics not installed in this deployment
        return
    record_events(
        [
            {
                "kind": "unsubscribe",
                "publication_id": publication_id,
                "occurred_at": timezone.now(),
                "recipient_key": recipient_key(subscriber_id),
            }
        ]
    )


def recipient_key(subscriber_id: int) -> str:
    """How one subscriber is named in analytics events and message tokens."""
    return f"s{subscriber_id}"


def note_engagement(key: str, occurred_at: datetime.datetime) -> None:
    """Analytics calls this for an open or click carrying a message token, so segments
    can select engaged / never engaged / lapsed subscribers."""
    if not key.startswith("s") or not key[1:].isdigit():
        return
    Subscriber.objects.filter(pk=int(key[1:])).filter(
        Q(last_engaged_at__isnull=True) | Q(last_engaged_at__lt=occurred_at)
    ).update(last_engaged_at=occurred_at)


# --- audiences -------------------------------------------------------------------------
def _not_suppressed(qs: QuerySet) -> QuerySet:
    """Subscribers not on the suppression list: the `suppressed` column the triggers
    keep (models.py), one test on the row instead of a probe per subscriber."""
    return qs.filter(suppressed=False)


def list_audience(mailing_list: MailingList) -> QuerySet:
    """Subscribers who may be mailed for `mailing_list`: confirmed and not suppressed.
    One table: membership is Subscriber.list_ids (see segments.list_member_condition)."""
    return _not_suppressed(Subscriber.objects.filter(list_member_condition(mailing_list.pk)))


def mailable_ids(mailing_list: MailingList, subscriber_ids: list[int]) -> set[int]:
    """Which of `subscriber_ids` list_audience(mailing_list) holds right now: the check
    a send runs before each batch. Asked by primary key, so the plan probes the batch's
    rows and tests list and suppression on each of them."""
    qs = list_audience(mailing_list).filter(pk__in=list(subscriber_ids))
    return set(qs.values_list("pk", flat=True))


def segment_audience(segment: Segment, now: datetime.datetime | None = None) -> QuerySet:
    """The segment's members: subscribed to its list, matching every saved filter."""
    qs = list_audience(segment.mailing_list)
    return apply_filters(qs, segment.filters or {}, now=now)


def audience_count(
    mailing_list: MailingList | None = None,
    segment: Segment | None = None,
    filters: dict | None = None,
) -> int:
    """How many people a send to `segment` (or to `mailing_list`) would reach right
    now: confirmed, not suppressed, matching the segment's conditions. `filters`
    counts unsaved conditions of the segment builder on `mailing_list` instead."""
    return estimates.exact_count(_audience(mailing_list, segment, filters))


def estimate_count(
    mailing_list: MailingList | None = None,
    segment: Segment | None = None,
    filters: dict | None = None,
    *,
    budget_ms: int = 120,
) -> tuple[int, bool]:
    """audience_count for the segment builder's live count: (count, exact). On
    PostgreSQL a big segment is estimated from the standing sample of the subscribers
    (exact is False: say "about"), a small one counted exactly; a small table is
    counted exactly within `budget_ms`. See estimates.py."""
    return estimates.estimate(_audience(mailing_list, segment, filters), budget_ms)


def _audience(mailing_list, segment, filters) -> QuerySet:
    if segment is not None:
        return segment_audience(segment)
    if mailing_list is None:
        raise AudienceError(_("Choose a mailing list or a segment."))
    qs = list_audience(mailing_list)
    if filters:
        qs = apply_filters(qs, filters)
    return qs


def apply_filters(qs: QuerySet, filters: dict, now: datetime.datetime | None = None) -> QuerySet:
    """Narrow `qs` (subscribers) to `filters`: the segment builder's rows (see
    segments.py), ANDed with the keys segments were saved with before the builder."""
    now = now or timezone.now()
    try:
        condition = rules_condition(filters, now)
    except SegmentError as exc:
        raise AudienceError(str(exc)) from None
    if condition is not None:
        qs = qs.filter(condition)
    for list_id in filters.get("lists") or []:
        qs = qs.filter(list_member_condition(list_id))
    if filters.get("tags_all"):
        qs = qs.filter(tags_condition(filters["tags_all"], match="all"))
    if filters.get("tags_any"):
        qs = qs.filter(tags_condition(filters["tags_any"], match="any"))
    for key, value in (filters.get("attributes") or {}).items():
        # Keys become ORM lookups: refuse anything that could chain another lookup.
        if not str(key).isidentifier() or "__" in str(key):
            raise AudienceError(_("Invalid attribute name: %(key)s") % {"key": key})
        if isinstance(value, (dict, list)):
            qs = qs.filter(**{f"attributes__{key}": value})
        else:
            qs = qs.filter(attribute_equals_condition(key, value))
    engagement = filters.get("engagement")
    days = int(filters.get("days") or 30)
    since = now - datetime.timedelta(days=days)
    if engagement == "engaged":
        qs = qs.filter(last_engaged_at__gte=since)
    elif engagement == "never":
        qs = qs.filter(last_engaged_at__isnull=True)
    elif engagement == "lapsed":
        qs = qs.filter(last_engaged_at__lt=since)
    elif engagement:
        raise AudienceError(_("Unknown engagement filter: %(value)s") % {"value": engagement})
    # Every condition tests the subscriber's own row (no joins): no DISTINCT needed.
    return qs
