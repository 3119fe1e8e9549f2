"""Forms of the schedule calendar: the filter bar, a drag-and-drop move and the slot a
new publication starts from. They only parse input; the services decide."""

from django import forms
from django.utils.translation import gettext_lazy as _

from channels.models import ChannelAccount
from channels.registry import FAMILY_LABELS

from .models import Campaign

# The value the "+" links carry and the add-publication form reads: one unambiguous
# spelling, so no locale's date format can turn 03/04 into the wrong day.
SLOT_FORMAT = "%Y-%m-%dT%H:%M"


class CalendarFilterForm(forms.Form):
    view = forms.ChoiceField(
        label=_("View"), choices=[("month", _("Month")), ("week", _("Week"))], required=False
    )
    # Kept as a hidden input: the page moves by its Previous / Today / Next links.
    date = forms.DateField(label=_("Date"), required=False, widget=forms.HiddenInput)
    campaign = forms.ModelChoiceField(
        label=_("Campaign"),
        queryset=Campaign.objects.order_by("name"),
        required=False,
        empty_label=_("All campaigns"),
    )
    channel = forms.ChoiceField(label=_("Channel"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        families = sorted(
            {
                kind.split("/", 1)[0]
                for kind in ChannelAccount.objects.values_list("kind", flat=True)
            }
        )
        self.fields["channel"].choices = [("", _("All channels"))] + [
            (family, FAMILY_LABELS.get(family, family)) for family in families
        ]


class CalendarMoveForm(forms.Form):
    """Where a dragged publication was dropped: a day (month view), or a day and an hour
    (a week view slot). The minutes, and in month view the hour, stay as they were."""

    date = forms.DateField(label=_("Day"), input_formats=["%Y-%m-%d"])
    hour = forms.IntegerField(label=_("Hour"), min_value=0, max_value=23, required=False)


class NewPublicationSlotForm(forms.Form):
    publish_at = forms.DateTimeField(
        label=_("Publish time"),
        input_formats=[SLOT_FORMAT],
        error_messages={"invalid": _("Give the time as YYYY-MM-DDTHH:MM, e.g. 2026-12-31T08:30.")},
    )
