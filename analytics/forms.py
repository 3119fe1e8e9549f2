import datetime

from django import forms
from django.utils.translation import gettext_lazy as _

from .dashboards import CHANNELS, MAX_RANGE_DAYS, DashboardFilter
from .links import InvalidDestination, validate_destination
from .models import TrackedLink


class DashboardFilterForm(forms.Form):
    """The period and channels of a dashboard. Without input it shows `default` (the
    last 30 days; a campaign's dashboard passes the campaign's own dates)."""

    start = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    channel = forms.MultipleChoiceField(
        label=_("Channels"), choices=CHANNELS, required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, default: DashboardFilter | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.default = default or DashboardFilter.default()
        # The period shown is the period the fields show.
        self.initial.setdefault("start", self.default.start)
        self.initial.setdefault("end", self.default.end)

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if start > end:
                raise forms.ValidationError(_("The start date must not be after the end date."))
            if (end - start).days >= MAX_RANGE_DAYS:
                raise forms.ValidationError(
                    _("Choose a range of at most %(n)d days.") % {"n": MAX_RANGE_DAYS}
                )
        return data

    def get_filter(self) -> DashboardFilter:
        """The filter to show: the valid input, completed from the default."""
        if not self.is_bound or not self.is_valid():
            return self.default
        end = self.cleaned_data.get("end") or self.default.end
        start = self.cleaned_data.get("start") or min(self.default.start, end)
        if (end - start).days >= MAX_RANGE_DAYS:
            start = end - datetime.timedelta(days=MAX_RANGE_DAYS - 1)
        return DashboardFilter(
            start=start, end=end, channels=self.cleaned_data.get("channel") or []
        )


class TrackedLinkForm(forms.ModelForm):
    """Hand-made tracked links (ads, placements). Saved through the service so UTM and
    code rules are the same as for generated links."""

    class Meta:
        model = TrackedLink
        fields = ["label", "original_url", "campaign", "channel", "medium"]
        help_texts = {
            "channel": _("Becomes utm_source, e.g. “manual”, “weibo”, “partner-site”."),
            "medium": _("Becomes utm_medium, e.g. “cpc”, “display”, “referral”."),
        }

    def clean_original_url(self):
        try:
            return validate_destination(self.cleaned_data["original_url"])
        except InvalidDestination as exc:
            raise forms.ValidationError(
                _("Enter an absolute http or https address (%(why)s).") % {"why": exc}
            ) from exc
