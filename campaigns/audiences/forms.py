from django import forms
from django.utils.translation import gettext_lazy as _

from .models import LANGUAGE_CHOICES


class SubscribeForm(forms.Form):
    email = forms.EmailField(label=_("Email address"), max_length=254)
    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    # A field people cannot see: bots fill it in, and we then quietly do nothing.
    website = forms.CharField(required=False, widget=forms.HiddenInput)


class PreferencesForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    language = forms.ChoiceField(label=_("Language"), choices=LANGUAGE_CHOICES)
    lists = forms.MultipleChoiceField(
        label=_("Lists"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, list_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lists"].choices = list_choices
