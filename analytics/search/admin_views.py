"""The analytics connection screen (Settings > Analytics connections): a Wagtail
ModelViewSet whose form takes credentials write-only, with Test connection and Import
now on the edit screen, and the last import's outcome (or its error) shown there and
in the listing. Marketers and administrators have its permissions (content.roles gives
marketers analytics.*)."""

import json

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.ui.tables import Column
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet

from .client import SearchImportError
from .importing import import_connection, try_connection
from .models import SearchConnection

# (name, label, help, textarea): every one write-only; empty keeps what is stored.
SECRETS = [
    ("client_id", gettext_lazy("OAuth client id / Baidu API key"), "", False),
    ("client_secret", gettext_lazy("OAuth client secret / Baidu secret key"), "", False),
    ("refresh_token", gettext_lazy("refresh token"), "", False),
    (
        "access_token",
        gettext_lazy("access token (Baidu)"),
        gettext_lazy("Baidu only: renewed with the refresh token when it expires."),
        False,
    ),
    (
        "service_account_key",
        gettext_lazy("service account key (Google)"),
        gettext_lazy(
            "Google only, instead of a refresh token: the service account's JSON key "
            "file, pasted whole. Add the service account as a user of the property."
        ),
        True,
    ),
]
SECRET_PREFIX = "secret__"


class WriteOnlyTextarea(forms.Textarea):
    def get_context(self, name, value, attrs):
        return super().get_context(name, None, attrs)


class SearchConnectionForm(WagtailAdminModelForm):
    clear_secrets = forms.BooleanField(
        label=gettext_lazy("Remove the stored credentials"), required=False
    )

    class Meta:
        model = SearchConnection
        fields = [
            "name",
            "kind",
            "site",
            "is_active",
            "backfill_days",
            "api_url",
            "token_url",
            "is_internal",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        stored = (self.instance.secrets or {}) if self.instance.pk else {}
        if not stored:
            del self.fields["clear_secrets"]  # nothing stored to remove
        for name, label, help_text, textarea in SECRETS:
            widget = (
                WriteOnlyTextarea(attrs={"rows": 4})
                if textarea
                else forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"})
            )
            note = _("Stored: leave empty to keep it.") if stored.get(name) else ""
            self.fields[SECRET_PREFIX + name] = forms.CharField(
                label=label,
                required=False,
                widget=widget,
                strip=True,
                help_text=" ".join(str(t) for t in (help_text, note) if t),
            )
        self.fields["backfill_days"].min_value = 1
        self.fields["backfill_days"].widget.attrs.update({"min": 1, "max": 90})

    def clean_backfill_days(self):
        days = self.cleaned_data["backfill_days"]
        if not 1 <= days <= 90:
            raise forms.ValidationError(_("Between 1 and 90 days."))
        return days

    def clean(self):
        data = super().clean()
        key = data.get(SECRET_PREFIX + "service_account_key")
        if key:
            try:
                parsed = json.loads(key)
                assert parsed["private_key"] and parsed["client_email"]
            except (ValueError, KeyError, TypeError, AssertionError):
                self.add_error(
                    SECRET_PREFIX + "service_account_key",
                    _("Paste the whole JSON key file Google gave for the service account."),
                )
        return data

    def save(self, commit=True):
        instance = super().save(commit=False)
        secrets = {} if self.cleaned_data.get("clear_secrets") else dict(instance.secrets or {})
        for name, *_rest in SECRETS:
            value = self.cleaned_data.get(SECRET_PREFIX + name)
            if value:
                secrets[name] = value
        instance.secrets = secrets
        if commit:
            instance.save()
        return instance


class ConnectionEditView(generic.EditView):
    template_name = "analytics/search/connection_edit.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["connection"] = self.object
        namespace = SearchConnectionViewSet.name
        context["test_url"] = reverse(f"{namespace}:test", args=[self.object.pk])
        context["import_url"] = reverse(f"{namespace}:import_now", args=[self.object.pk])
        return context


class SearchConnectionViewSet(ModelViewSet):
    model = SearchConnection
    form_fields = SearchConnectionForm.Meta.fields
    icon = "site"
    menu_label = gettext_lazy("Analytics connections")
    add_to_settings_menu = True
    name = "analytics_connections"
    url_prefix = "analytics/connections"
    edit_view_class = ConnectionEditView
    list_display = [
        "name",
        Column("kind", label=gettext_lazy("service"), accessor="get_kind_display"),
        "site",
        Column("last_success_at", label=gettext_lazy("last successful import")),
        Column("last_error", label=gettext_lazy("last error")),
    ]

    def get_form_class(self, for_update=False):
        return SearchConnectionForm

    def get_urlpatterns(self):
        return super().get_urlpatterns() + [
            path("test/<int:pk>/", self.test_view, name="test"),
            path("import/<int:pk>/", self.import_view, name="import_now"),
        ]

    def _connection_to_change(self, request, pk):
        if not self.permission_policy.user_has_permission(request.user, "change"):
            raise PermissionDenied
        return get_object_or_404(SearchConnection, pk=pk)

    @property
    def test_view(self):
        @require_POST
        def view(request, pk):
            connection = self._connection_to_change(request, pk)
            ok, message = try_connection(connection)
            (messages.success if ok else messages.error)(request, message)
            return redirect(self.get_url_name("edit"), pk)

        return view

    @property
    def import_view(self):
        @require_POST
        def view(request, pk):
            connection = self._connection_to_change(request, pk)
            try:
                rows = import_connection(connection)
            except SearchImportError as exc:
                messages.error(request, _("Import failed: %(error)s") % {"error": exc.message})
            else:
                messages.success(
                    request,
                    ngettext(
                        "Imported %(n)d row of search queries.",
                        "Imported %(n)d rows of search queries.",
                        rows,
                    )
                    % {"n": rows},
                )
            return redirect(self.get_url_name("edit"), pk)

        return view


connection_viewset = SearchConnectionViewSet()
