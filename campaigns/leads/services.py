"""What a landing page's form does with a reader's answers.

`submit` keeps every valid post first (a LeadSubmission, in one transaction with the
subscriber it creates or matches), then reports the conversion; nothing after the
answers are stored can lose them. Joining the page's mailing list is `subscribe_lead`,
run by a worker (tasks.py) so the page answers every address the same way, at once, as
the audiences' subscribe form does: it goes through audiences.services.subscribe, so
the list's consent text is stored and its double opt-in honoured (pending, one
confirmation email).

A public form never overwrites what is already known about a subscriber (anyone can
type anyone's address): it fills a missing name, phone or company; the submission keeps
every answer as given.
"""

from __future__ import annotations

import logging

from django.db import transaction

from campaigns.audiences import services as audiences
from campaigns.audiences.models import Subscriber, Subscription

from .forms import SUBSCRIBE_FIELD, answers
from .models import LandingPage, LeadSubmission

logger = logging.getLogger(__name__)

# Field types whose answer fills the subscriber's record: (model field or attribute key).
PERSON_FIELDS = {"name": "name", "phone": "phone", "company": "company"}


def person_answers(page: LandingPage, data: dict) -> dict:
    """The answers that describe the person: the first answer of each of the email,
    name, phone and company field types (empty ones left out)."""
    found = {}
    for field in page.get_form_fields():
        kind = field.field_type
        if kind not in ("email", *PERSON_FIELDS) or kind in found:
            continue
        value = data.get(field.clean_name)
        if isinstance(value, str) and value.strip():
            found[kind] = value.strip()
    return found


def _update_subscriber(person: dict, language: str) -> Subscriber | None:
    email = person.get("email")
    if not email:
        return None
    subscriber = audiences.get_or_create_subscriber(
        email, name=person.get("name", "")[:200], language=language
    )
    changed = []
    if not subscriber.name and person.get("name"):
        subscriber.name = person["name"][:200]
        changed.append("name")
    attributes = dict(subscriber.attributes or {})
    for kind in ("phone", "company"):
        if person.get(kind) and not attributes.get(kind):
            attributes[kind] = person[kind]
    if attributes != (subscriber.attributes or {}):
        subscriber.attributes = attributes
        changed.append("attributes")
    if changed:
        subscriber.save(update_fields=[*changed, "updated_at"])
    return subscriber


def submit(page: LandingPage, form, *, request=None, embedded: bool = False) -> LeadSubmission:
    """Store a valid form's answers, create or update the subscriber they name, and
    report the conversion ("form submitted" goals). Returns the submission; whether to
    subscribe is on it (`subscribe_requested`), done afterwards by `subscribe_lead`."""
    data = answers(form)
    wants_list = bool(form.cleaned_data.get(SUBSCRIBE_FIELD)) and page.mailing_list_id is not None
    person = person_answers(page, data)
    with transaction.atomic():
        subscriber = _update_subscriber(person, page.language)
        submission = LeadSubmission.objects.create(
            page=page,
            form_data=data,
            subscriber=subscriber,
            subscribe_requested=wants_list and subscriber is not None,
            language=page.language,
            embedded=embedded,
        )
    report_conversion(request, page.pk, subscriber.pk if subscriber else None)
    return submission


def report_conversion(request, page_id: int, subscriber_id: int | None) -> None:
    """The one call site of the conversion for "form submitted" goals
    (analytics.conversions). A failure there is logged, never the reader's problem: the
    answers are already stored. Outside a request (the demo's leads) there is no
    visitor to credit, and nothing is reported."""
    if request is None:
        return
    # Imported here, not at the top: wagtail_hooks loads this module in every process
    # (workers and beat too), and analytics.conversions brings the event pusher, which
    # only a process serving readers' requests may carry (tests/analytics/test_links.py).
    from analytics.conversions import form_submitted

    try:
        form_submitted(request, page_id, subscriber_id)
    except Exception:  # noqa: BLE001 - the answers are stored; a lost conversion is logged
        logger.exception("Conversion not recorded for landing page %s", page_id)


def subscribe_lead(submission_id: int, ip_hash: str = "") -> Subscription | None:
    """Subscribe a submission's subscriber to its page's mailing list, with the list's
    consent text and double opt-in. Quietly nothing for a suppressed address, a
    submission that did not ask, or a page that no longer offers a list."""
    submission = (
        LeadSubmission.objects.select_related("subscriber").filter(pk=submission_id).first()
    )
    if submission is None or not submission.subscribe_requested or submission.subscriber is None:
        return None
    page = LandingPage.objects.filter(pk=submission.page_id).select_related("mailing_list").first()
    if page is None or page.mailing_list is None:
        return None
    try:
        return audiences.subscribe(
            submission.subscriber.email,
            page.mailing_list,
            method=Subscription.Method.FORM,
            consent_text=page.mailing_list.consent_text,
            ip_hash=ip_hash,
            language=submission.language,
            source="landing page",
        )
    except audiences.AudienceError:
        return None
