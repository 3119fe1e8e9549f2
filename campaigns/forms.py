"""Admin forms. Validation that needs the schedule's rules lives in campaigns.services;
these forms only shape input and show the services' messages."""

import datetime

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from wagtail.models import Page

from channels.models import ChannelAccount

from . import recurrence
from .chooser import content_chooser_viewset, publishable_pages
from .models import Campaign, Publication
from .team import team_time_zone
from .times import LenientDateField, LenientDateTimeField, read_in_zone_text, zone_choices


class CampaignForm(forms.ModelForm):
    class Meta:
        model = Campaign
        fields = [
            "name",
            "slug",
            "goal",
            "description",
            "start_date",
            "end_date",
            "owner",
            "target_keyphrases",
            "budget",
            "currency",
        ]
        field_classes = {"start_date": LenientDateField, "end_date": LenientDateField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = (
            get_user_model().objects.filter(is_active=True).order_by("username")
        )
        # A publication belongs to the campaign's days as the scheduler sees them: in
        # the zone of the person scheduling (campaigns.services.validation).
        days_in = read_in_zone_text(timezone.get_current_timezone_name())
        for name in ("start_date", "end_date"):
            self.fields[name].help_text = days_in
        # Left out (a form posted by a script, an older screen): the campaign's own, or
        # the default currency.
        self.fields["currency"].required = False

    def clean_currency(self):
        return (
            self.cleaned_data.get("currency")
            or self.instance.currency
            or Campaign._meta.get_field("currency").default
        )


WEEKDAY_CHOICES = [
    ("MO", _("Monday")),
    ("TU", _("Tuesday")),
    ("WE", _("Wednesday")),
    ("TH", _("Thursday")),
    ("FR", _("Friday")),
    ("SA", _("Saturday")),
    ("SU", _("Sunday")),
]


class ScheduleFieldsForm(forms.Form):
    """When: a zone, a wall-clock time read in that zone, and a recurrence built from a
    few choices (or typed as an RRULE). The zone and the time are one choice: the time
    means nothing until the zone says where. After cleaning, `publish_at` is aware (UTC)
    and `recurrence` holds the RRULE text ("" for none)."""

    timezone = forms.ChoiceField(
        label=_("Time zone"),
        help_text=_("The publish time and the repetition are read in this zone."),
    )
    publish_at = LenientDateTimeField(label=_("Publish at"), required=False, naive=True)
    repeat = forms.ChoiceField(
        label=_("Repeat"),
        initial="none",
        required=False,
        choices=[
            ("none", _("Does not repeat")),
            ("daily", _("Daily")),
            ("weekly", _("Weekly, on the days below")),
            ("monthly", _("Monthly, on a day of the month")),
            ("custom", _("Custom rule (RRULE)")),
        ],
        help_text=_("Each occurrence becomes its own publication, at the same local time."),
    )
    interval = forms.IntegerField(
        label=_("Every"),
        min_value=1,
        max_value=365,
        initial=1,
        required=False,
        help_text=_("1 = every day, week or month; 2 = every other one; and so on."),
    )
    weekdays = forms.MultipleChoiceField(
        label=_("On"),
        choices=WEEKDAY_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: the weekday of the publish time."),
    )
    month_day = forms.IntegerField(
        label=_("Day of the month"),
        min_value=1,
        max_value=31,
        required=False,
        help_text=_("Empty: the day of the publish time. Months without this day are skipped."),
    )
    ends = forms.ChoiceField(
        label=_("Ends"),
        initial="never",
        required=False,
        choices=[
            ("never", _("Never")),
            ("count", _("After a number of times")),
            ("until", _("On a date")),
        ],
    )
    count = forms.IntegerField(label=_("Times"), min_value=1, max_value=1000, required=False)
    until = LenientDateField(label=_("Last day"), required=False)
    custom_rule = forms.CharField(
        label=_("RRULE"),
        required=False,
        max_length=500,
        help_text=_("e.g. FREQ=WEEKLY;BYDAY=MO,TH;COUNT=10 (RFC 5545)."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["timezone"]
        field.choices = zone_choices()
        # The script on the form rewrites the publish time's help text from this when
        # another zone is picked, in the user's language.
        field.widget.attrs["data-read-in"] = read_in_zone_text("__ZONE__")

    def zone_name(self) -> str:
        """The zone this form reads its time in: the one submitted, else the initial."""
        if self.is_bound:
            return self.data.get(self.add_prefix("timezone")) or team_time_zone()
        return self.initial.get("timezone") or team_time_zone()

    def set_initial_rule(self, rule: str) -> None:
        values = recurrence.rule_to_builder(rule)
        self.initial["repeat"] = values.get("frequency", "none")
        self.initial["interval"] = values.get("interval", 1)
        self.initial["weekdays"] = values.get("weekdays", [])
        self.initial["month_day"] = values.get("month_day")
        self.initial["custom_rule"] = values.get("custom", "")
        if values.get("count"):
            self.initial.update(ends="count", count=values["count"])
        elif values.get("until"):
            self.initial.update(ends="until", until=values["until"])

    def clean_timezone(self):
        name = self.cleaned_data["timezone"].strip()
        recurrence.get_zone(name)
        return name

    def _built_rule(self, data) -> str:
        repeat = data.get("repeat") or "none"
        if repeat == "custom":
            rule = recurrence.normalise_rule(data.get("custom_rule", ""))
            if not rule:
                self.add_error("custom_rule", _("Type the rule, or pick another repetition."))
            return rule
        ends = data.get("ends") or "never"
        if ends == "count" and not data.get("count"):
            self.add_error("count", _("How many times?"))
        if ends == "until" and not data.get("until"):
            self.add_error("until", _("On which day does it end?"))
        return recurrence.build_rule(
            repeat,
            interval=data.get("interval"),
            weekdays=data.get("weekdays") or (),
            month_day=data.get("month_day"),
            count=data.get("count") if ends == "count" else None,
            until=data.get("until") if ends == "until" else None,
        )

    def clean(self):
        cleaned = super().clean()
        rule = self._built_rule(cleaned)
        if rule:
            try:
                recurrence.parse_rule(rule, datetime.datetime(2000, 1, 1))
            except ValidationError as exc:
                field = "custom_rule" if cleaned.get("repeat") == "custom" else "repeat"
                self.add_error(field, exc)
        cleaned["recurrence"] = rule
        zone = cleaned.get("timezone")
        wall = cleaned.get("publish_at")
        if zone and wall is not None:
            cleaned["publish_at"] = recurrence.localise(wall, recurrence.get_zone(zone))
        return cleaned


class PublicationForm(ScheduleFieldsForm, forms.ModelForm):
    """Create or edit a publication. "Schedule" asks the services to schedule it at
    `publish_at` (read in the publication's own zone); otherwise it stays a draft."""

    schedule = forms.BooleanField(
        label=_("Schedule it"),
        required=False,
        initial=True,
        help_text=_("Untick to save as a draft."),
    )

    class Meta:
        model = Publication
        fields = [
            "page",
            "channel_account",
            "timezone",
            "publish_at",
            "title_override",
            "excerpt_override",
            "forum_category",
            "tags",
            "email_subject",
            "email_preheader",
            "cost",
        ]
        widgets = {"page": content_chooser_viewset.widget_class}

    # The schedule fields first, right after what and where.
    field_order = [
        "page",
        "channel_account",
        "timezone",
        "publish_at",
        "schedule",
        "repeat",
        "interval",
        "weekdays",
        "month_day",
        "ends",
        "count",
        "until",
        "custom_rule",
    ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel_account"].queryset = ChannelAccount.objects.filter(is_active=True)
        instance = self.instance
        pages = publishable_pages()
        if instance.page_id:  # a page of another type chosen before stays valid
            pages = pages | Page.objects.filter(pk=instance.page_id)
        self.fields["page"].queryset = pages
        if instance.pk:
            self.set_initial_rule(instance.recurrence)
            if instance.publish_at:
                # Shown as the wall clock of the publication's zone, which is how it
                # will be read back on save.
                try:
                    zone = recurrence.get_zone(instance.timezone)
                except ValidationError:
                    zone = datetime.UTC
                self.initial["publish_at"] = instance.publish_at.astimezone(zone).replace(
                    tzinfo=None
                )
        elif "timezone" not in (kwargs.get("initial") or {}):
            # Not the model's default (UTC): a new publication starts in the team's zone.
            self.initial["timezone"] = team_time_zone()
        self.fields["publish_at"].help_text = read_in_zone_text(self.zone_name())
        self.fields["until"].help_text = read_in_zone_text(self.zone_name())

    def clean(self):
        cleaned = super().clean()
        self.instance.recurrence = cleaned.get("recurrence", "")
        if cleaned.get("schedule") and not cleaned.get("publish_at"):
            self.add_error("publish_at", _("Enter a publish time to schedule it."))
        return cleaned


class PublicationCostForm(forms.ModelForm):
    """What a publication costs, on its own (any status)."""

    class Meta:
        model = Publication
        fields = ["cost"]


class RecurrencePreviewForm(ScheduleFieldsForm):
    """The schedule fields alone, for the live preview of the next occurrences."""


class BulkRescheduleForm(forms.Form):
    publications = forms.ModelMultipleChoiceField(
        queryset=Publication.objects.none(), widget=forms.CheckboxSelectMultiple
    )
    shift_hours = forms.FloatField(
        label=_("Move by (hours)"),
        required=False,
        help_text=_("Negative moves earlier. Leave empty to set one new time for all."),
    )
    publish_at = LenientDateTimeField(label=_("New time"), required=False)

    def __init__(self, *args, campaign, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["publications"].queryset = campaign.publications.all()
        # Read by Django in the user's zone (activated by Wagtail for admin views).
        self.fields["publish_at"].help_text = read_in_zone_text(
            timezone.get_current_timezone_name()
        )

    def clean(self):
        cleaned = super().clean()
        has_shift = cleaned.get("shift_hours") not in (None, "")
        has_time = cleaned.get("publish_at") is not None
        if has_shift == has_time:
            raise forms.ValidationError(_("Give either a number of hours or a new time."))
        return cleaned
