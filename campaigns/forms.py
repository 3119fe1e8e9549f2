"""Admin forms. Validation that needs the schedule's rules lives in campaigns.services;
these forms only shape input and show the services' messages."""

import datetime

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from wagtail.admin.widgets import AdminDateInput, AdminDateTimeInput
from wagtail.models import Page

from channels.models import ChannelAccount

from . import recurrence
from .models import Campaign, Publication


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
        ]
        widgets = {"start_date": AdminDateInput(), "end_date": AdminDateInput()}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = (
            get_user_model().objects.filter(is_active=True).order_by("username")
        )


class PublicationForm(forms.ModelForm):
    """Create or edit a publication. "Schedule" asks the services to schedule it at
    `publish_at` (entered in the user's time zone); otherwise it stays a draft."""

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
            "publish_at",
            "timezone",
            "recurrence",
            "title_override",
            "excerpt_override",
            "forum_category",
            "tags",
            "email_subject",
            "email_preheader",
        ]
        widgets = {"publish_at": AdminDateTimeInput()}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Content pages only: not the tree root nor the site's home page.
        self.fields["page"].queryset = Page.objects.filter(depth__gte=3).order_by("title")
        self.fields["channel_account"].queryset = ChannelAccount.objects.filter(is_active=True)
        self.fields["publish_at"].required = False
        self.fields["publish_at"].help_text = _("In your time zone (%(zone)s).") % {
            "zone": timezone.get_current_timezone_name()
        }
        if not self.instance.pk:
            self.initial.setdefault("timezone", timezone.get_current_timezone_name())

    def clean_timezone(self):
        name = self.cleaned_data["timezone"].strip()
        recurrence.get_zone(name)
        return name

    def clean_recurrence(self):
        rule = recurrence.normalise_rule(self.cleaned_data.get("recurrence", ""))
        if rule:
            recurrence.parse_rule(rule, datetime.datetime(2000, 1, 1))
        return rule

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("schedule") and not cleaned.get("publish_at"):
            self.add_error("publish_at", _("Enter a publish time to schedule it."))
        return cleaned


class BulkRescheduleForm(forms.Form):
    publications = forms.ModelMultipleChoiceField(
        queryset=Publication.objects.none(), widget=forms.CheckboxSelectMultiple
    )
    shift_hours = forms.FloatField(
        label=_("Move by (hours)"),
        required=False,
        help_text=_("Negative moves earlier. Leave empty to set one new time for all."),
    )
    publish_at = forms.DateTimeField(
        label=_("New time"), required=False, widget=AdminDateTimeInput()
    )

    def __init__(self, *args, campaign, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["publications"].queryset = campaign.publications.all()

    def clean(self):
        cleaned = super().clean()
        has_shift = cleaned.get("shift_hours") not in (None, "")
        has_time = cleaned.get("publish_at") is not None
        if has_shift == has_time:
            raise forms.ValidationError(_("Give either a number of hours or a new time."))
        return cleaned
