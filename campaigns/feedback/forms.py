"""The reader's feedback form and the status page's message form: bounded lengths on
every field, the project's address check (internationalised addresses accepted), the
landing pages' phone check, and no control characters in the single-line fields."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from campaigns.leads.forms import AddressField, validate_phone

MESSAGE_MAX = 5000


def _no_controls(value: str) -> None:
    if any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in value):
        raise ValidationError(_("Please remove the control characters."), code="invalid")


def _text(label, max_length, *, required=True, **attrs):
    return forms.CharField(
        label=label,
        max_length=max_length,
        required=required,
        validators=[_no_controls],
        widget=forms.TextInput(attrs=attrs),
    )


class FeedbackForm(forms.Form):
    category = forms.ChoiceField(label=_("What is it about?"), widget=forms.RadioSelect)
    name = _text(_("Your name"), 200, autocomplete="name")
    email = AddressField(
        label=_("Email"),
        help_text=_("We answer by email."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    phone = forms.CharField(
        label=_("Phone (optional)"),
        max_length=40,
        required=False,
        validators=[validate_phone],
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    subject = _text(_("Subject"), 200)
    message = forms.CharField(
        label=_("Message"), max_length=MESSAGE_MAX, widget=forms.Textarea(attrs={"rows": 6})
    )
    order_reference = _text(_("Order or reference number (optional)"), 100, required=False)

    def __init__(self, *args, categories=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = list(categories)
        if len(categories) == 1:
            self.fields["category"].initial = categories[0][0]

    def clean_message(self):
        text = self.cleaned_data["message"]
        if "\x00" in text:
            raise ValidationError(_("Please remove the control characters."), code="invalid")
        if not text.strip():
            raise ValidationError(_("Please write your message."), code="required")
        return text


class PersonMessageForm(forms.Form):
    """The status page: the person adds a message to their case."""

    message = forms.CharField(
        label=_("Add a message"), max_length=MESSAGE_MAX, widget=forms.Textarea(attrs={"rows": 4})
    )

    clean_message = FeedbackForm.clean_message


class ReplyForm(forms.Form):
    """The case page: a reply emailed to the person, or an internal note."""

    body = forms.CharField(
        label=_("Text"), max_length=MESSAGE_MAX, widget=forms.Textarea(attrs={"rows": 5})
    )


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(label=_("Assignee"), queryset=None, required=False)

    def __init__(self, *args, users=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = users
        self.fields["assignee"].label_from_instance = lambda u: u.get_full_name() or u.username


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"))

    def __init__(self, *args, choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = list(choices)
