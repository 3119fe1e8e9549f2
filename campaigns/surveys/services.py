"""What a recipient does with a survey: who the link names, and recording an answer.

A recipient's links carry the message token of the email they came in
(analytics.tokens: publication id + recipient key, signed with SECRET_KEY); the
tracked redirect counts the click and passes the token on (analytics.click_carry).
The token is believed when its signature holds, its publication carried this very
page, the subscriber still exists and the survey is still open for that publication:
SURVEYS_ANSWER_DAYS after the publication went out (then the link has expired).

One answer per (page, subscriber), final: a second submission is told it already
answered (the unique constraint makes two concurrent submissions one row). An NPS
answer (score and follow-up comment) is recorded by the answer form's POST, never by
opening a link; add_comment serves follow-up forms shown before that.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from analytics.tokens import parse_message_token
from campaigns.audiences.models import Subscriber
from campaigns.models import Publication

from .models import LIKERT_MAX, LIKERT_MIN, NPS, SERVQUAL, SurveyResponse
from .scoring import respondent_gap

MAX_COMMENT = 2000


class TokenRefused(Exception):
    """The link cannot answer: `reason` is "invalid" (forged, altered, another page's)
    or "expired" (the survey closed for that publication)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Recipient:
    publication: Publication
    subscriber: Subscriber


def answer_days() -> int:
    return max(1, int(settings.SURVEYS_ANSWER_DAYS))


def recipient_for(page, token: str, now: datetime.datetime | None = None) -> Recipient:
    parsed = parse_message_token(token)
    if parsed is None:
        raise TokenRefused("invalid")
    publication_id, key = parsed
    if not key.startswith("s") or not key[1:].isdigit():
        raise TokenRefused("invalid")
    publication = Publication.objects.select_related("campaign").filter(pk=publication_id).first()
    if publication is None or publication.page_id != page.pk:
        raise TokenRefused("invalid")
    subscriber = Subscriber.objects.filter(pk=int(key[1:])).first()
    if subscriber is None:
        raise TokenRefused("invalid")
    sent_at = publication.published_at or publication.started_at or publication.publish_at
    now = now or timezone.now()
    if sent_at is not None and now > sent_at + datetime.timedelta(days=answer_days()):
        raise TokenRefused("expired")
    return Recipient(publication=publication, subscriber=subscriber)


def existing_answer(page, recipient: Recipient) -> SurveyResponse | None:
    return SurveyResponse.objects.filter(page=page, subscriber=recipient.subscriber).first()


def _create(page, recipient: Recipient, **fields) -> SurveyResponse | None:
    """The new answer, or None when this recipient had answered already."""
    try:
        with transaction.atomic():
            return SurveyResponse.objects.create(
                page_id=page.pk,
                kind=page.survey_kind,
                publication=recipient.publication,
                campaign=recipient.publication.campaign,
                subscriber=recipient.subscriber,
                **fields,
            )
    except IntegrityError:
        return None


def record_nps(page, recipient: Recipient, score: int, comment: str = "") -> SurveyResponse | None:
    if page.survey_kind != NPS or not 0 <= int(score) <= 10:
        raise ValueError("an NPS score is a whole number from 0 to 10")
    return _create(page, recipient, score=int(score), comment=(comment or "").strip()[:MAX_COMMENT])


def add_comment(page, recipient: Recipient, comment: str) -> bool:
    """The follow-up answer to an NPS score, once. False when there is no score yet or
    a comment was already given."""
    comment = (comment or "").strip()[:MAX_COMMENT]
    if not comment:
        return False
    return bool(
        SurveyResponse.objects.filter(
            page_id=page.pk, subscriber=recipient.subscriber, comment=""
        ).update(comment=comment)
    )


def clean_servqual(page, data) -> dict:
    """{"e": {id: n}, "p": {id: n}} from the posted form (fields e_<id>, p_<id>);
    raises ValueError naming nothing personal when an item is missing or out of range."""
    answers = {"e": {}, "p": {}}
    for item in page.survey_items():
        for side in ("e", "p"):
            raw = str(data.get(f"{side}_{item['id']}", "")).strip()
            if not raw.isdigit() or not LIKERT_MIN <= int(raw) <= LIKERT_MAX:
                raise ValueError(item["id"])
            answers[side][item["id"]] = int(raw)
    return answers


def record_servqual(page, recipient: Recipient, answers: dict, comment: str = ""):
    if page.survey_kind != SERVQUAL:
        raise ValueError("not a SERVQUAL survey")
    gap = respondent_gap(page.survey_items(), answers)
    return _create(
        page, recipient, answers=answers, gap=gap, comment=(comment or "").strip()[:MAX_COMMENT]
    )
