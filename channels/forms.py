"""Admin forms for channel accounts: the fields depend on the account's kind.

Secret fields are write-only: they never render a stored value (PasswordInput with
render_value=False), leaving one empty keeps what is stored, and a "clear" box removes it.
"""

from __future__ import annotations

import json

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import ChannelAccount
from .registry import get_adapter_class

SETTINGS_PREFIX = "setting__"
SECRET_PREFIX = "secret__"
CLEAR_PREFIX = "clear__"


def kind_fields(kind: str) -> tuple[dict, dict]:
    """(settings fields, secret fields) the adapter of `kind` declares. An adapter that
    declares none gets a JSON editor for settings and one for secrets."""
    cls = get_adapter_class(kind)
    settings_fields = cls.settings_fields() if hasattr(cls, "settings_fields") else None
    secret_fields = cls.secret_fields() if hasattr(cls, "secret_fields") else None
    if settings_fields is None:
        settings_fields = {
            "__json__": forms.JSONField(
                label=_("Settings (JSON)"), required=False, widget=forms.Textarea
            )
        }
    if secret_fields is None:
        secret_fields = {
            "__json__": forms.JSONField(
                label=_("Secrets (JSON, write-only)"),
                required=False,
                widget=forms.Textarea(attrs={"autocomplete": "off"}),
                help_text=_("Stored encrypted and never shown again. Leave empty to keep."),
            )
        }
    return settings_fields, secret_fields


class ChooseKindForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Channel"), choices=ChannelAccount._meta.get_field("kind").choices
    )


class ChannelAccountForm(forms.ModelForm):
    class Meta:
        model = ChannelAccount
        fields = ["name", "is_active", "is_internal", "rate_limit_per_minute"]

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        settings_fields, secret_fields = kind_fields(kind)
        stored_settings = self.instance.settings or {}
        stored_secrets = self.instance.secrets if self.instance.pk else {}
        self.settings_names, self.secret_names = [], []
        for name, field in settings_fields.items():
            key = SETTINGS_PREFIX + name
            if name == "__json__":
                field.initial = stored_settings
            elif name in stored_settings:
                field.initial = stored_settings[name]
            self.fields[key] = field
            self.settings_names.append(name)
        for name, field in secret_fields.items():
            key = SECRET_PREFIX + name
            if name != "__json__":
                field = forms.CharField(
                    label=field.label,
                    help_text=field.help_text,
                    required=False,
                    strip=True,
                    widget=forms.PasswordInput(
                        render_value=False, attrs={"autocomplete": "new-password"}
                    ),
                )
            is_set = bool(stored_secrets.get(name)) if name != "__json__" else bool(stored_secrets)
            if is_set:
                field.help_text = _("A value is stored (not shown). Leave empty to keep it.")
            # Required secrets must be given when nothing is stored yet.
            field.required_when_empty = secret_fields[name].required and name != "__json__"
            field.initial = None
            self.fields[key] = field
            self.secret_names.append(name)
            if is_set:
                self.fields[CLEAR_PREFIX + name] = forms.BooleanField(
                    label=_("Remove the stored %(label)s") % {"label": field.label},
                    required=False,
                )
        self._stored_secrets = stored_secrets

    def clean(self):
        data = super().clean()
        for name in self.secret_names:
            key = SECRET_PREFIX + name
            field = self.fields[key]
            if (
                getattr(field, "required_when_empty", False)
                and not data.get(key)
                and (not self._stored_secrets.get(name) or data.get(CLEAR_PREFIX + name))
            ):
                self.add_error(key, _("This secret is required."))
        return data

    def settings_value(self) -> dict:
        if self.settings_names == ["__json__"]:
            value = self.cleaned_data.get(SETTINGS_PREFIX + "__json__") or {}
            if not isinstance(value, dict):
                raise forms.ValidationError(_("Settings must be a JSON object."))
            return value
        return {
            name: self.cleaned_data.get(SETTINGS_PREFIX + name)
            for name in self.settings_names
            if self.cleaned_data.get(SETTINGS_PREFIX + name) not in (None, "")
            or name in (self.instance.settings or {})
        }

    def secrets_value(self) -> tuple[dict, set[str]]:
        if self.secret_names == ["__json__"]:
            value = self.cleaned_data.get(SECRET_PREFIX + "__json__") or {}
            cleared = (
                set(self._stored_secrets)
                if self.cleaned_data.get(CLEAR_PREFIX + "__json__")
                else set()
            )
            return (value if isinstance(value, dict) else {}), cleared
        new = {n: self.cleaned_data.get(SECRET_PREFIX + n) or "" for n in self.secret_names}
        cleared = {n for n in self.secret_names if self.cleaned_data.get(CLEAR_PREFIX + n)}
        return new, cleared


class CompleteTaskForm(forms.Form):
    public_url = forms.CharField(label=_("Public URL"), max_length=1000)


class SkipTaskForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}))


def pretty_json(value) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)
