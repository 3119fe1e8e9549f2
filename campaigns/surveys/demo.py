"""Demo surveys: an NPS survey in Chinese and a SERVQUAL survey in English under the
hub's home page, each answered by a few of the demo's people, so the results screen
and the "Survey answer" segment condition have something to show."""

import random

from campaigns.audiences.models import Subscriber
from campaigns.models import Campaign
from content.demo import ensure_home, get_or_add

from .models import NPS, SERVQUAL, NpsSurveyPage, ServqualSurveyPage, SurveyResponse
from .scoring import respondent_gap

NPS_SLUG = "demo-nps"
SERVQUAL_SLUG = "demo-servqual"
NPS_SCORES = [10, 9, 9, 8, 7, 10, 6, 3, 9, 8]


def load_surveys_demo(stdout=None) -> dict:
    home = ensure_home()
    if home.get_children().filter(slug=NPS_SLUG).exists():
        return {"surveys": 0, "survey answers": 0}
    nps, _new = get_or_add(
        home,
        NpsSurveyPage,
        NPS_SLUG,
        title="客户满意度调查 NPS",
        language="zh-hans",
        intro="<p>只需几秒钟：您的意见帮助我们改进服务。</p>",
        thank_you_text="<p>谢谢您的反馈！</p>",
    )
    servqual, _new = get_or_add(
        home,
        ServqualSurveyPage,
        SERVQUAL_SLUG,
        title="Service quality survey",
        language="en",
        intro="<p>Five minutes: what you expect, and what you get from us.</p>",
    )
    people = list(Subscriber.objects.order_by("pk")[:10])
    campaign = Campaign.objects.order_by("pk").first()
    rng = random.Random(21)
    items = servqual.survey_items()
    answers = 0
    for person, score in zip(people, NPS_SCORES, strict=False):
        SurveyResponse.objects.create(
            page_id=nps.pk, kind=NPS, campaign=campaign, subscriber=person, score=score
        )
        answers += 1
    for person in people[:6]:
        ratings = {
            "e": {i["id"]: rng.randint(5, 7) for i in items},
            "p": {i["id"]: rng.randint(2, 7) for i in items},
        }
        SurveyResponse.objects.create(
            page_id=servqual.pk,
            kind=SERVQUAL,
            campaign=campaign,
            subscriber=person,
            answers=ratings,
            gap=respondent_gap(items, ratings),
        )
        answers += 1
    return {"surveys": 2, "survey answers": answers}
