"""The feedback inbox: the form readers send (FeedbackPage, a hub page), the cases it
opens (Case, each with its thread of CaseEntry rows) and the working calendar a case's
due time is counted in (FeedbackSettings, Settings > Feedback settings).

A case keeps the contact details as the person typed them (name, email, phone), apart
from the subscriber it found or created: erasing a person blanks them here too
(person_data.py). The thread holds the person's messages, staff replies, internal notes
and the case's events (status changes, assignment, escalation): one table, read in
order, which is also what the person's timeline shows.
"""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.html import strip_tags
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel
from wagtail.contrib.settings.models import BaseGenericSetting, register_setting
from wagtail.fields import RichTextField
from wagtail.models import Page

from campaigns.times import ZoneSelect, zone_choices
from content.models import LANGUAGE_CHOICES, SeoFieldsMixin

from .calendar import parse_holidays, validate_zone
from .panels import EmbedCodePanel


class Category(models.TextChoices):
    COMPLAINT = "complaint", _("Complaint")
    SUGGESTION = "suggestion", _("Suggestion")
    ENQUIRY = "enquiry", _("Enquiry")


class FeedbackPage(SeoFieldsMixin, Page):
    """The public form: category, name, email, phone, subject, message, order number."""

    language = models.CharField(
        _("language"), max_length=10, choices=LANGUAGE_CHOICES, default="en"
    )
    intro = RichTextField(
        _("introduction"), blank=True, features=["h2", "h3", "bold", "italic", "link", "ul", "ol"]
    )
    offer_complaint = models.BooleanField(_("offer “complaint”"), default=True)
    offer_suggestion = models.BooleanField(_("offer “suggestion”"), default=True)
    offer_enquiry = models.BooleanField(_("offer “enquiry”"), default=True)
    thank_you_text = RichTextField(
        _("thank-you message"),
        blank=True,
        features=["bold", "italic", "link"],
        help_text=_("Shown after a reader sends the form, above the case's reference."),
    )

    content_panels = Page.content_panels + [
        FieldPanel("language"),
        FieldPanel("intro"),
        MultiFieldPanel(
            [
                FieldRowPanel(
                    [
                        FieldPanel("offer_complaint"),
                        FieldPanel("offer_suggestion"),
                        FieldPanel("offer_enquiry"),
                    ]
                )
            ],
            heading=_("Categories offered"),
        ),
        FieldPanel("thank_you_text"),
        EmbedCodePanel(heading=_("Embed on another site")),
    ]
    promote_panels = SeoFieldsMixin.seo_panels
    parent_page_types = ["content.HomePage"]
    subpage_types = []
    template = "feedback/feedback_page.html"

    class Meta:
        verbose_name = _("feedback page")
        verbose_name_plural = _("feedback pages")

    def get_plain_text(self) -> str:
        return strip_tags(self.intro or "").strip()

    def categories(self) -> list[tuple[str, str]]:
        offered = [
            (Category.COMPLAINT, self.offer_complaint),
            (Category.SUGGESTION, self.offer_suggestion),
            (Category.ENQUIRY, self.offer_enquiry),
        ]
        chosen = [(c.value, c.label) for c, on in offered if on]
        return chosen or [(c.value, c.label) for c in Category]

    def clean(self):
        super().clean()
        if not (self.offer_complaint or self.offer_suggestion or self.offer_enquiry):
            raise ValidationError(_("Offer at least one category."))

    # Serving (limits, errors, thanks) is views.serve_feedback_page, through the
    # on_serve_page hook in wagtail_hooks.py.


@register_setting(icon="time")
class FeedbackSettings(BaseGenericSetting):
    """When the team works, for case due times: the days, the hours, the zone and the
    holidays. A case is due `due_working_days` working days after it opened (see
    calendar.py for the exact rule)."""

    monday = models.BooleanField(_("Monday"), default=True)
    tuesday = models.BooleanField(_("Tuesday"), default=True)
    wednesday = models.BooleanField(_("Wednesday"), default=True)
    thursday = models.BooleanField(_("Thursday"), default=True)
    friday = models.BooleanField(_("Friday"), default=True)
    saturday = models.BooleanField(_("Saturday"), default=False)
    sunday = models.BooleanField(_("Sunday"), default=False)
    day_starts = models.TimeField(_("working day starts"), default=datetime.time(9))
    day_ends = models.TimeField(_("working day ends"), default=datetime.time(18))
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        blank=True,
        help_text=_("Leave empty for the team's time zone (Team settings)."),
    )
    holidays = models.TextField(
        _("holidays"),
        blank=True,
        help_text=_(
            "One date per line (YYYY-MM-DD), optionally followed by a name, e.g. "
            "“2026-10-01 National Day”. No case falls due on these days."
        ),
    )
    due_working_days = models.PositiveSmallIntegerField(
        _("answer within (working days)"), default=1
    )

    panels = [
        MultiFieldPanel(
            [
                FieldRowPanel([FieldPanel(d) for d in ("monday", "tuesday", "wednesday")]),
                FieldRowPanel([FieldPanel(d) for d in ("thursday", "friday")]),
                FieldRowPanel([FieldPanel(d) for d in ("saturday", "sunday")]),
            ],
            heading=_("Working days"),
        ),
        FieldRowPanel([FieldPanel("day_starts"), FieldPanel("day_ends")]),
        FieldPanel(
            "time_zone",
            widget=ZoneSelect(choices=[("", _("The team's time zone")), *zone_choices()]),
        ),
        FieldPanel("holidays"),
        FieldPanel("due_working_days"),
    ]

    class Meta:
        verbose_name = _("Feedback settings")
        verbose_name_plural = _("Feedback settings")

    DAY_FIELDS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

    def weekdays(self) -> frozenset[int]:
        return frozenset(i for i, name in enumerate(self.DAY_FIELDS) if getattr(self, name))

    def clean(self):
        super().clean()
        errors = {}
        if not self.weekdays():
            errors["monday"] = _("Choose at least one working day.")
        if self.day_starts and self.day_ends and self.day_ends <= self.day_starts:
            errors["day_ends"] = _("The working day must end after it starts.")
        if self.time_zone:
            try:
                validate_zone(self.time_zone)
            except ValidationError as exc:
                errors["time_zone"] = exc.messages
        try:
            parse_holidays(self.holidays or "")
        except ValidationError as exc:
            errors["holidays"] = exc.messages
        if self.due_working_days < 1:
            errors["due_working_days"] = _("At least one working day.")
        if errors:
            raise ValidationError(errors)


class Case(models.Model):
    class Status(models.TextChoices):
        NEW = "new", _("New")
        OPEN = "open", _("Open")
        WAITING = "waiting", _("Waiting for customer")
        RESOLVED = "resolved", _("Resolved")
        CLOSED = "closed", _("Closed")

    reference = models.CharField(_("reference"), max_length=32, unique=True, blank=True)
    page = models.ForeignKey(
        FeedbackPage,
        verbose_name=_("form"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cases",
    )
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.NEW
    )
    subscriber = models.ForeignKey(
        "audiences.Subscriber",
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="feedback_cases",
    )
    # As the person typed them (erased with the person).
    name = models.CharField(_("name"), max_length=200, blank=True)
    email = models.CharField(_("email"), max_length=254, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    order_reference = models.CharField(_("order or reference"), max_length=100, blank=True)
    language = models.CharField(_("language"), max_length=10, default="en")
    embedded = models.BooleanField(_("sent from an embedded form"), default=False)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="feedback_cases",
    )
    opened_at = models.DateTimeField(_("opened"), db_index=True)
    due_at = models.DateTimeField(_("due"))
    escalated_at = models.DateTimeField(_("escalated"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    erased = models.BooleanField(_("personal data erased"), default=False)

    UNRESOLVED = (Status.NEW, Status.OPEN, Status.WAITING)

    class Meta:
        verbose_name = _("feedback case")
        verbose_name_plural = _("feedback cases")
        ordering = ["-opened_at"]
        indexes = [
            models.Index(fields=["status", "due_at"], name="feedback_case_due"),
            models.Index(fields=["assignee", "status"], name="feedback_case_assignee"),
        ]

    def __str__(self):
        return self.reference or f"#{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in self.UNRESOLVED


class CaseEntry(models.Model):
    """One line of a case's thread."""

    class Kind(models.TextChoices):
        MESSAGE = "message", _("Message from the person")
        REPLY = "reply", _("Reply")
        NOTE = "note", _("Internal note")
        STATUS = "status", _("Status changed")
        ASSIGNED = "assigned", _("Assigned")
        ESCALATED = "escalated", _("Escalated")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="entries")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    body = models.TextField(_("text"), blank=True)
    # Status changes: {"from": ..., "to": ...}; assignment: {"to": user id}.
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("at"), db_index=True)

    PUBLIC = (Kind.MESSAGE, Kind.REPLY, Kind.STATUS)

    class Meta:
        verbose_name = _("case entry")
        verbose_name_plural = _("case entries")
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["case", "created_at"], name="feedback_entry_case")]

    @property
    def status_label(self) -> str:
        value = (self.data or {}).get("to")
        return Case.Status(value).label if value in Case.Status.values else ""
