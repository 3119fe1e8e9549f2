"""The goals of a campaign in the Wagtail admin: listed per campaign (the campaign's page
links here), added with the campaign chosen, and, for an external goal, its script tag
and pixel URL shown to copy. Registered by analytics.wagtail_hooks."""

import re
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from wagtail.admin.ui.tables import Column
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.admin.widgets import AdminPageChooser

from campaigns.audiences.admin_views import YesNoColumn
from campaigns.models import Campaign

from .goal_cache import ascii_host, forget_goals
from .models import Goal


class GoalForm(forms.ModelForm):
    class Meta:
        model = Goal
        fields = [
            "campaign",
            "name",
            "kind",
            "page",
            "target_count",
            "target_value",
            "currency",
            "site_hosts",
            "active",
        ]
        widgets = {"page": AdminPageChooser()}

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind in (Goal.Kind.FORM, Goal.Kind.PAGE) and not data.get("page"):
            self.add_error("page", _("Choose the page this goal is reached on."))
        if kind == Goal.Kind.EXTERNAL:
            data["page"] = None
            data["site_hosts"] = self._clean_hosts(data.get("site_hosts") or "")
        currency = (data.get("currency") or "").strip()
        if currency and not (len(currency) == 3 and currency.isascii() and currency.isalpha()):
            self.add_error("currency", _("Enter a three-letter currency code, such as CNY."))
        data["currency"] = currency.upper()
        campaign = data.get("campaign")
        if campaign is not None and currency and data["currency"] != campaign.currency:
            # One currency per campaign: its goals' values are summed (rollups,
            # attribution) and set against its costs (return on spend).
            self.add_error(
                "currency",
                _("Use the campaign's currency, %(currency)s: its goals' values are added up.")
                % {"currency": campaign.currency},
            )
        return data

    def _clean_hosts(self, value: str) -> str:
        """Host names separated by spaces or commas; a pasted address keeps its host."""
        hosts = []
        for item in value.replace(",", " ").split():
            host = urlsplit(item).hostname if "://" in item else item.split("/")[0]
            host = (host or "").strip(".").lower()
            if not host or not ascii_host(host) or not _HOST_RE.match(ascii_host(host)):
                self.add_error(
                    "site_hosts",
                    _("“%(host)s” is not a host name, such as shop.example.com.")
                    % {"host": item[:100]},
                )
                return value
            if host not in hosts:
                hosts.append(host)
        if not hosts:
            self.add_error(
                "site_hosts",
                _("Name your site, such as shop.example.com: only links to it carry the click."),
            )
        return " ".join(hosts)


# Letters, digits and hyphens in dot-separated labels (after IDNA encoding).
_HOST_RE = re.compile(
    r"\A(?=.{1,253}\Z)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\Z"
)


def goal_snippets(goal: Goal) -> dict:
    """What the company puts on its own site for an external goal."""
    base = f"{settings.SITE_BASE_URL.rstrip('/')}/c/{goal.key}"
    return {
        "pixel_url": base,
        "pixel_example": f"{base}?value=99.00&currency={goal.currency}&order=ORDER-ID",
        "script_tag": f'<script src="{base}.js" async></script>',
        "convert_tag": (
            f'<script src="{base}.js" data-convert data-value="99.00" '
            f'data-currency="{goal.currency}" data-order="ORDER-ID" async></script>'
        ),
    }


class GoalCreateView(generic.CreateView):
    def get_initial(self):
        initial = super().get_initial()
        campaign = self.request.GET.get("campaign", "")
        if campaign.isascii() and campaign.isdigit() and len(campaign) < 18:
            initial["campaign"] = int(campaign)
            found = Campaign.objects.filter(pk=int(campaign)).values_list("currency", flat=True)
            if found:
                initial["currency"] = found[0]
        return initial

    def save_instance(self):
        instance = super().save_instance()
        forget_goals()
        return instance


class GoalEditView(generic.EditView):
    template_name = "analytics/goal_edit.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if self.object.kind == Goal.Kind.EXTERNAL:
            context["snippets"] = goal_snippets(self.object)
            context["window_days"] = settings.ANALYTICS_ATTRIBUTION_WINDOW_DAYS
        return context

    def save_instance(self):
        instance = super().save_instance()
        forget_goals()
        return instance


class GoalViewSet(ModelViewSet):
    model = Goal
    icon = "crosshairs"
    menu_label = _("Goals")
    add_to_admin_menu = False
    add_view_class = GoalCreateView
    edit_view_class = GoalEditView
    list_display = [
        "name",
        "campaign",
        Column("kind", label=_("kind"), accessor="get_kind_display"),
        "page",
        "target_count",
        "target_value",
        YesNoColumn("active", label=_("active")),
    ]
    list_filter = ["campaign", "kind", "active"]
    search_fields = ["name"]

    def get_form_class(self, for_update=False):
        return GoalForm


goal_viewset = GoalViewSet("goals")
