"""Survey pages (NPS and SERVQUAL) and the answers their recipients give.

A survey page is a hub page like the others (language, SEO fields) that a campaign
sends through the email channel like any issue: the email shows its introduction and
the answer links (channels/email renders the page's `email_template` after its body).
Every answer names the page, the publication it came through and the subscriber it
came from, once per (page, subscriber): the unique constraint keeps a double submit
to one row. Erasure keeps the scores and drops the person (subscriber NULL, comment
emptied), so results keep their totals.
"""

from urllib.parse import urlencode

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.html import strip_tags
from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.admin.panels import FieldPanel
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Page

from content.models import LANGUAGE_CHOICES, SeoFieldsMixin

from .defaults import DIMENSIONS, NPS_COMMENT_PROMPT, NPS_QUESTION, servqual_defaults

NPS = "nps"
SERVQUAL = "servqual"
LIKERT_MIN, LIKERT_MAX = 1, 7


class SurveyPageBase(SeoFieldsMixin, Page):
    language = models.CharField(
        _("language"), max_length=10, choices=LANGUAGE_CHOICES, default="en"
    )
    intro = RichTextField(
        _("introduction"),
        blank=True,
        features=["h2", "h3", "bold", "italic", "link", "ul", "ol"],
        help_text=_("Shown in the email above the answer links, and on the survey page."),
    )
    thank_you_text = RichTextField(
        _("thank-you message"),
        blank=True,
        features=["bold", "italic", "link"],
        help_text=_("Shown after a recipient answers."),
    )

    parent_page_types = ["content.HomePage"]
    subpage_types = []
    promote_panels = SeoFieldsMixin.seo_panels
    email_template = ""
    survey_kind = ""

    class Meta:
        abstract = True

    @property
    def editorial(self):
        """The email renderer shows a page's `editorial` above its body."""
        return self.intro

    def get_plain_text(self) -> str:
        return strip_tags(self.intro or "").strip()

    def answer_url(self, **query) -> str:
        """The absolute answer address the email links to (through the tracked
        redirect, which passes the recipient's message token on as `?m=`)."""
        path = reverse("surveys:answer", args=[self.pk])
        url = f"{settings.SITE_BASE_URL.rstrip('/')}{path}"
        return f"{url}?{urlencode(query)}" if query else url


class NpsSurveyPage(SurveyPageBase):
    question = models.CharField(
        _("question"),
        max_length=255,
        blank=True,
        help_text=_("Leave empty for the standard question in the page's language."),
    )
    comment_prompt = models.CharField(
        _("follow-up question"),
        max_length=255,
        blank=True,
        help_text=_("Asked after the score (optional answer). Empty: the standard one."),
    )

    content_panels = Page.content_panels + [
        FieldPanel("language"),
        FieldPanel("intro"),
        FieldPanel("question"),
        FieldPanel("comment_prompt"),
        FieldPanel("thank_you_text"),
    ]
    template = "surveys/nps_page.html"
    email_template = "surveys/email_nps.html"
    survey_kind = NPS

    class Meta:
        verbose_name = _("NPS survey")
        verbose_name_plural = _("NPS surveys")

    def score_links(self) -> list[tuple[int, str]]:
        return [(score, self.answer_url(score=score)) for score in range(11)]

    def save(self, *args, **kwargs):
        if not self.question:
            self.question = NPS_QUESTION.get(self.language, NPS_QUESTION["en"])
        if not self.comment_prompt:
            self.comment_prompt = NPS_COMMENT_PROMPT.get(self.language, NPS_COMMENT_PROMPT["en"])
        return super().save(*args, **kwargs)


class ServqualItemBlock(blocks.StructBlock):
    dimension = blocks.ChoiceBlock(choices=DIMENSIONS, label=_("dimension"))
    expectation = blocks.CharBlock(
        label=_("expectation"), max_length=300, help_text=_("What an excellent company does.")
    )
    perception = blocks.CharBlock(
        label=_("perception"), max_length=300, help_text=_("What we do, as the reader sees it.")
    )

    class Meta:
        icon = "list-ul"
        label = _("item")


class ServqualSurveyPage(SurveyPageBase):
    items = StreamField(
        [("item", ServqualItemBlock())],
        verbose_name=_("items"),
        blank=True,
        help_text=_(
            "Leave empty for the 22 standard items in the page's language; each is rated "
            "from 1 (strongly disagree) to 7 (strongly agree), as expected and as perceived."
        ),
    )

    content_panels = Page.content_panels + [
        FieldPanel("language"),
        FieldPanel("intro"),
        FieldPanel("items"),
        FieldPanel("thank_you_text"),
    ]
    template = "surveys/servqual_page.html"
    email_template = "surveys/email_servqual.html"
    survey_kind = SERVQUAL

    class Meta:
        verbose_name = _("SERVQUAL survey")
        verbose_name_plural = _("SERVQUAL surveys")

    def save(self, *args, **kwargs):
        if not len(self.items):
            self.items = servqual_defaults(self.language)
        return super().save(*args, **kwargs)

    def survey_items(self) -> list[dict]:
        """[{"id", "dimension", "expectation", "perception"}] in page order."""
        return [
            {
                "id": block.id,
                "dimension": block.value["dimension"],
                "expectation": block.value["expectation"],
                "perception": block.value["perception"],
            }
            for block in self.items
            if block.block_type == "item"
        ]


class SurveyResponse(models.Model):
    page = models.ForeignKey(
        "wagtailcore.Page",
        verbose_name=_("survey"),
        on_delete=models.CASCADE,
        related_name="survey_responses",
    )
    kind = models.CharField(
        _("kind"), max_length=10, choices=[(NPS, "NPS"), (SERVQUAL, "SERVQUAL")]
    )
    publication = models.ForeignKey(
        "campaigns.Publication",
        verbose_name=_("publication"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="survey_responses",
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        verbose_name=_("campaign"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="survey_responses",
    )
    # NULL once the person was erased: the scores stay, nobody is named.
    subscriber = models.ForeignKey(
        "audiences.Subscriber",
        verbose_name=_("subscriber"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="survey_responses",
    )
    score = models.SmallIntegerField(_("score"), null=True, blank=True)
    # SERVQUAL: {"e": {item id: 1-7}, "p": {item id: 1-7}}.
    answers = models.JSONField(_("answers"), default=dict, blank=True)
    # SERVQUAL: this respondent's unweighted gap (mean of the dimension gaps).
    gap = models.FloatField(_("gap"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    answered_at = models.DateTimeField(_("answered at"), auto_now_add=True)

    class Meta:
        verbose_name = _("survey answer")
        verbose_name_plural = _("survey answers")
        constraints = [
            models.UniqueConstraint(
                fields=["page", "subscriber"],
                condition=models.Q(subscriber__isnull=False),
                name="surveys_one_answer_per_recipient",
            )
        ]
        indexes = [
            models.Index(fields=["subscriber", "answered_at"], name="surveys_by_subscriber"),
            models.Index(fields=["page", "score"], name="surveys_by_page_score"),
        ]

    def __str__(self):
        return f"{self.page_id}:{self.subscriber_id}"
