"""The reader's form of a landing page: Wagtail's form builder with our field types
(name, phone, company), the project's address check (internationalised addresses
accepted, as the subscriber's own field does), bounded lengths on every text field, and
the opt-in box for the page's mailing list."""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from wagtail.contrib.forms.forms import FormBuilder

from campaigns.audiences.addresses import validate_address

# The opt-in box's name; a field an editor labels the same gets another name from
# Wagtail (its clean names are ascii_snake_case of the label, never with this prefix).
SUBSCRIBE_FIELD = "_subscribe"
MULTILINE_MAX = 5000
SINGLELINE_MAX = 255
# Digits with the usual separators, an optional leading + and extension: "+86 10 1234
# 5678", "(555) 123-4567 ext. 89".
_PHONE_RE = re.compile(r"^\+?[0-9 ()./-]{5,30}(?:\s*(?:ext\.?|x|#|转)\s*[0-9]{1,6})?$")


def validate_phone(value: str) -> None:
    if sum(c.isdigit() for c in value) < 5 or not _PHONE_RE.match(value):
        raise ValidationError(
            _("Enter a phone number: digits, spaces, + ( ) - and an optional extension."),
            code="invalid",
        )


class AddressField(forms.CharField):
    def __init__(self, **options):
        options["max_length"] = 254
        super().__init__(**options)
        self.validators.append(validate_address)

    def to_python(self, value):
        return (super().to_python(value) or "").strip()


class LeadFormBuilder(FormBuilder):
    def create_singleline_field(self, field, options):
        options["max_length"] = SINGLELINE_MAX
        return forms.CharField(**options)

    def create_multiline_field(self, field, options):
        options["max_length"] = MULTILINE_MAX
        options.setdefault("widget", forms.Textarea(attrs={"rows": 5}))
        return forms.CharField(**options)

    def create_email_field(self, field, options):
        options.setdefault("widget", forms.EmailInput(attrs={"autocomplete": "email"}))
        return AddressField(**options)

    def create_name_field(self, field, options):
        options["max_length"] = 200
        options.setdefault("widget", forms.TextInput(attrs={"autocomplete": "name"}))
        return forms.CharField(**options)

    def create_company_field(self, field, options):
        options["max_length"] = 200
        options.setdefault("widget", forms.TextInput(attrs={"autocomplete": "organization"}))
        return forms.CharField(**options)

    def create_phone_field(self, field, options):
        options["max_length"] = 40
        options.setdefault("widget", forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}))
        return forms.CharField(validators=[validate_phone], **options)

    def create_url_field(self, field, options):
        options["max_length"] = 2000
        return super().create_url_field(field, options)

    def create_hidden_field(self, field, options):
        options["max_length"] = SINGLELINE_MAX
        return super().create_hidden_field(field, options)

    def create_number_field(self, field, options):
        # Finite numbers of a sane size ("1e999999" is a denial of service elsewhere).
        return forms.DecimalField(max_digits=30, decimal_places=10, **options)


def add_subscribe_box(form, mailing_list) -> None:
    """The opt-in box for `mailing_list`, unticked: joining is the reader's choice, and
    the list's consent text is its help text (stored with the consent)."""
    form.fields[SUBSCRIBE_FIELD] = forms.BooleanField(
        label=_("Subscribe me to %(list)s") % {"list": mailing_list.name},
        help_text=mailing_list.consent_text,
        required=False,
    )


def answers(form) -> dict:
    """The answers to store: every field the editor built, as cleaned, without the
    opt-in box (stored on the submission itself)."""
    data = dict(form.cleaned_data)
    data.pop(SUBSCRIBE_FIELD, None)
    return data
