"""The e-zine setup screen: a Wagtail ModelViewSet for EZine (cadence, time zone,
sections, partner feeds, mailing list, sending account) whose edit form also lists the
e-zine's next runs and its past runs, each with its issue and its send panel.

Validation lives on the models (EZine.clean, PartnerFeed.clean), so a bad cadence or a
bad feed address is refused in words on this form as anywhere else."""

from zoneinfo import available_timezones

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.panels import (
    FieldPanel,
    FieldRowPanel,
    InlinePanel,
    MultiFieldPanel,
    ObjectList,
    Panel,
)
from wagtail.admin.ui.tables import Column, StatusTagColumn
from wagtail.admin.viewsets.model import ModelViewSet

from campaigns import recurrence

from .models import EZine

# Runs shown on the edit form; older ones stay in the database.
RUNS_SHOWN = 20


class EZineForm(WagtailAdminModelForm):
    """The time zone as a list of IANA names instead of free text."""

    time_zone = forms.ChoiceField(
        label=capfirst(EZine._meta.get_field("time_zone").verbose_name),
        choices=[(z, z) for z in sorted(available_timezones())],
        help_text=_("The cadence's hours are read in this zone, summer time included."),
    )


class RunsPanel(Panel):
    """The next five runs of the saved cadence and the last runs, read-only."""

    class BoundPanel(Panel.BoundPanel):
        template_name = "ezine_channel/admin/runs_panel.html"

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            ezine = self.instance
            context["runs"] = []
            context["upcoming"] = []
            if ezine is None or ezine.pk is None:
                return context
            context["runs"] = list(ezine.runs.select_related("publication", "issue")[:RUNS_SHOWN])
            try:
                zone = recurrence.get_zone(ezine.time_zone)
                # Formatted here: the template's date filter would move them to the
                # viewer's zone, and the cadence means the e-zine's own wall clock.
                context["upcoming"] = [
                    f"{occurrence.astimezone(zone):%Y-%m-%d %H:%M}"
                    for occurrence in recurrence.upcoming_occurrences(
                        ezine.cadence, ezine.next_run_at or timezone.now(), ezine.time_zone
                    )
                ]
            except ValidationError:  # a cadence saved before it was validated
                context["upcoming"] = []
            context["zone"] = ezine.time_zone
            return context


class EZineViewSet(ModelViewSet):
    model = EZine
    icon = "mail"
    menu_label = _("E-zines")
    menu_name = "ezines"
    menu_order = 300
    # Under Channels (channels/wagtail_hooks.py gathers the items of this hook).
    menu_hook = "register_channels_menu_item"
    add_to_admin_menu = False
    url_prefix = "ezines"
    name = "ezines"
    list_display = [
        "__str__",
        Column("campaign", label=_("campaign")),
        Column("mailing_list", label=_("mailing list")),
        Column("cadence", label=_("cadence (RRULE)")),
        Column("time_zone", label=_("time zone")),
        Column("next_run_at", label=_("next run at")),
        StatusTagColumn(
            "is_active",
            label=_("active"),
            accessor=lambda e: _("active") if e.is_active else _("stopped"),
            primary=lambda e: e.is_active,
        ),
    ]
    edit_handler_panels = [
        MultiFieldPanel(
            [FieldPanel("page"), FieldPanel("campaign"), FieldPanel("is_active")],
            heading=_("E-zine"),
        ),
        MultiFieldPanel(
            [
                FieldPanel("channel_account"),
                FieldPanel("mailing_list"),
            ],
            heading=_("Who sends it, to whom"),
        ),
        MultiFieldPanel(
            [FieldRowPanel([FieldPanel("cadence"), FieldPanel("time_zone")])],
            heading=_("When"),
        ),
        MultiFieldPanel(
            [
                FieldPanel("section_tags"),
                FieldPanel("section_campaigns", widget=forms.CheckboxSelectMultiple),
            ],
            heading=_("Sections"),
        ),
        InlinePanel(
            "partner_feeds",
            heading=_("Partner feeds"),
            label=_("partner feed"),
            # Named one by one: a field without a verbose name (last_fetched_at) would
            # otherwise show its attribute name in English.
            panels=[
                FieldPanel("name"),
                FieldPanel("url"),
                FieldPanel("is_internal"),
                FieldPanel("max_items"),
                FieldPanel("last_fetched_at", heading=_("last fetched at")),
                FieldPanel("last_error"),
            ],
        ),
        RunsPanel(heading=_("Runs")),
    ]

    def get_edit_handler(self):
        # The top-level panel decides the form class (the viewset's base_form_class is
        # not used once panels are given).
        return ObjectList(self.edit_handler_panels, base_form_class=EZineForm).bind_to_model(
            self.model
        )


ezine_viewset = EZineViewSet()
