"""Admin forms for channel accounts, built from the adapter's declaration of its
settings and secrets (channels.base.AccountField): a typed input per key, never JSON.

Secret fields are write-only: they never render a value (not the stored one, not one
typed into a form that came back with errors); leaving one empty keeps what is stored,
and a "remove" box clears it. Keys the form does not know (older settings, keys written
by code) are kept as stored: the service merges, it never replaces.
"""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator, validate_email
from django.utils.translation import gettext_lazy as _

from .base import AccountField, FieldType
from .models import ChannelAccount
from .registry import get_adapter_class

SETTINGS_PREFIX = "setting__"
SECRET_PREFIX = "secret__"
CLEAR_PREFIX = "clear__"


class WriteOnlyTextarea(forms.Textarea):
    """A textarea that, like PasswordInput(render_value=False), never renders a value."""

    def get_context(self, name, value, attrs):
        return super().get_context(name, None, attrs)


_MAILBOX_SPECIALS = re.compile(r'[\s<>()\[\]\\,;:"@]')


def validate_international_email(value: str) -> None:
    """Django's email check, but allowing a non-ASCII mailbox name (RFC 6531:
    王芳@example.com), which Django refuses and SMTPUTF8 servers accept."""
    local, at, domain = value.rpartition("@")
    if at and local and not local.isascii() and not _MAILBOX_SPECIALS.search(local):
        value = f"x@{domain}"  # the domain (IDN or not) is still checked by Django
    try:
        validate_email(value)
    except ValidationError:
        raise ValidationError(_("Enter a valid email address."), code="invalid") from None


class InternationalEmailField(forms.CharField):
    # A text input, not type="email": browsers refuse (or rewrite to punycode) the
    # internationalised addresses this field accepts.
    widget = forms.TextInput(attrs={"inputmode": "email", "autocomplete": "email"})
    default_validators = [validate_international_email]


def form_field(declared: AccountField) -> forms.Field:
    """The Django form field for one declared key. Secrets are never required here:
    the form decides, since a stored secret may be kept by leaving its field empty."""
    common = {
        "label": declared.label,
        "help_text": declared.help_text,
        "required": declared.required and not declared.is_secret,
    }
    if declared.type == FieldType.PASSWORD:
        return forms.CharField(
            **common,
            widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        )
    if declared.type == FieldType.SECRET_TEXT:
        return forms.CharField(
            **common, strip=False, widget=WriteOnlyTextarea(attrs={"autocomplete": "off"})
        )
    if declared.type == FieldType.BOOLEAN:
        # Unticked is a value (False), not a missing one.
        return forms.BooleanField(**{**common, "required": False})
    if declared.type == FieldType.CHOICE:
        choices = declared.get_choices()
        if not declared.required:
            choices = [("", "---------"), *choices]
        return forms.ChoiceField(**common, choices=choices)
    if declared.type == FieldType.INTEGER:
        return forms.IntegerField(
            **common, min_value=declared.min_value, max_value=declared.max_value
        )
    if declared.type == FieldType.NUMBER:
        return forms.FloatField(
            **common, min_value=declared.min_value, max_value=declared.max_value
        )
    text = {"max_length": declared.max_length}
    if declared.type == FieldType.URL:
        return forms.URLField(**common, **text, assume_scheme="https")
    if declared.type == FieldType.EMAIL:
        return InternationalEmailField(**common, **text)
    validators = []
    if declared.pattern:
        validators.append(
            RegexValidator(
                f"^(?:{declared.pattern})$",
                _("Enter a value in the expected form (see the help text)."),
            )
        )
    widget = forms.Textarea(attrs={"rows": 3}) if declared.type == FieldType.TEXTAREA else None
    return forms.CharField(**common, **text, validators=validators, widget=widget)


def kind_fields(kind: str) -> tuple[dict, dict]:
    """(settings fields, secret fields) for the adapter of `kind`: name -> form field,
    in the order the adapter declares them."""
    cls = get_adapter_class(kind)
    settings_fields = {}
    for declared in cls.account_settings:
        field = form_field(declared)
        field.initial = declared.default
        settings_fields[declared.name] = field
    secret_fields = {declared.name: form_field(declared) for declared in cls.account_secrets}
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
        adapter_class = get_adapter_class(kind)
        required_secrets = {d.name for d in adapter_class.account_secrets if d.required}
        self.conditional = [
            (d, d.required_when)
            for d in (*adapter_class.account_settings, *adapter_class.account_secrets)
            if d.required_when
        ]
        settings_fields, secret_fields = kind_fields(kind)
        stored_settings = self.instance.settings or {}
        stored_secrets = (self.instance.secrets or {}) if self.instance.pk else {}
        self.settings_names = list(settings_fields)
        self.secret_names = list(secret_fields)
        self.required_secrets = required_secrets
        for name, field in settings_fields.items():
            # A stored None (older forms saved empty fields so) means "the default",
            # as it does to the adapter: the form shows the default, never "None".
            if stored_settings.get(name) is not None:
                field.initial = stored_settings[name]
            self.fields[SETTINGS_PREFIX + name] = field
        for name, field in secret_fields.items():
            if stored_secrets.get(name):
                field.help_text = _(
                    "A value is stored (not shown). Leave empty to keep the current value."
                )
            self.fields[SECRET_PREFIX + name] = field
            if stored_secrets.get(name):
                self.fields[CLEAR_PREFIX + name] = forms.BooleanField(
                    label=_("Remove the stored %(label)s") % {"label": field.label},
                    required=False,
                )
        self._stored_secrets = stored_secrets

    def account_fields(self) -> list:
        return [self[name] for name in self._meta.fields]

    def settings_fields(self) -> list:
        return [self[SETTINGS_PREFIX + name] for name in self.settings_names]

    def secret_fields(self) -> list:
        """Each secret's input, followed by its "remove" box when one is stored."""
        names = [(SECRET_PREFIX + n, CLEAR_PREFIX + n) for n in self.secret_names]
        return [self[key] for pair in names for key in pair if key in self.fields]

    def clean(self):
        data = super().clean()
        for name in self.required_secrets:
            key = SECRET_PREFIX + name
            kept = self._stored_secrets.get(name) and not data.get(CLEAR_PREFIX + name)
            if not data.get(key) and not kept:
                self.add_error(key, _("This secret is required."))
        for declared, (other, value) in self.conditional:
            if data.get(SETTINGS_PREFIX + other) != value:
                continue
            if declared.is_secret:
                key = SECRET_PREFIX + declared.name
                kept = self._stored_secrets.get(declared.name) and not data.get(
                    CLEAR_PREFIX + declared.name
                )
                present = data.get(key) or kept
            else:
                key = SETTINGS_PREFIX + declared.name
                present = data.get(key) not in (None, "")
            if not present and key not in self.errors:
                self.add_error(
                    key,
                    _("Required when %(field)s is “%(value)s”.")
                    % {
                        "field": self.fields[SETTINGS_PREFIX + other].label,
                        "value": self._choice_label(other, value),
                    },
                )
        return data

    def _choice_label(self, name: str, value) -> str:
        choices = dict(getattr(self.fields[SETTINGS_PREFIX + name], "choices", ()) or ())
        return str(choices.get(value, value))

    def settings_value(self) -> dict:
        """The declared settings as typed; None for a field left empty (the service
        then removes the key, so the adapter's default applies)."""
        values = {}
        for name in self.settings_names:
            value = self.cleaned_data.get(SETTINGS_PREFIX + name)
            values[name] = None if value in (None, "") else value
        return values

    def secrets_value(self) -> tuple[dict, set[str]]:
        """(secrets typed, names to remove); an empty field keeps the stored value."""
        new = {n: self.cleaned_data.get(SECRET_PREFIX + n) or "" for n in self.secret_names}
        cleared = {n for n in self.secret_names if self.cleaned_data.get(CLEAR_PREFIX + n)}
        return new, cleared


class CompleteTaskForm(forms.Form):
    public_url = forms.CharField(label=_("Public URL"), max_length=1000)


class SkipTaskForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}))
