"""The audience admin forms: CSV upload and column mapping, the segment builder, and
the subscriber form (internationalised addresses, attributes one per line)."""

from __future__ import annotations

import json
import re
import zoneinfo

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminModelForm

from . import importing, segments, services
from .models import LANGUAGE_CHOICES, MailingList, Segment, Subscriber, normalise_tags

MAX_UPLOAD = 50 * 1024 * 1024


class UploadForm(forms.Form):
    mailing_list = forms.ModelChoiceField(
        label=_("Mailing list"),
        queryset=MailingList.objects.all(),
        help_text=_("The list the imported people are subscribed to."),
    )
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "A header row, then one person per row. Columns: email (required), name, "
            "language, timezone, tags. UTF-8 or GBK (Excel's Chinese CSV)."
        ),
    )
    encoding = forms.ChoiceField(
        label=_("Encoding"),
        choices=[("auto", _("Detect (UTF-8 or GBK)")), ("utf-8", "UTF-8"), ("gbk", "GBK")],
    )
    consent_basis = forms.CharField(
        label=_("Consent basis"),
        max_length=300,
        help_text=_("Where and how these people agreed to receive email. Required."),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD:
            raise ValidationError(_("The file is larger than 50 MB."))
        return upload


class MappingForm(forms.Form):
    """Which column of the file holds which subscriber field (guessed from the header)."""

    LABELS = {
        "email": _("Email address"),
        "name": _("Name"),
        "language": _("Language"),
        "timezone": _("Time zone"),
        "tags": _("Tags"),
    }

    def __init__(self, *args, header: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", _("(not imported)"))] + [
            (str(i), title or _("column %(n)s") % {"n": i + 1}) for i, title in enumerate(header)
        ]
        for field in importing.FIELDS:
            self.fields[f"map_{field}"] = forms.ChoiceField(
                label=self.LABELS[field], choices=choices, required=field == "email"
            )

    def mapping(self) -> dict[str, int]:
        return {
            field: int(self.cleaned_data[f"map_{field}"])
            for field in importing.FIELDS
            if self.cleaned_data.get(f"map_{field}") not in (None, "")
        }


# --- segment builder -------------------------------------------------------------------
ROW_KEY = re.compile(r"^(?P<name>.+)-(?P<index>\d+)-field$")
BLANK_ROWS = 2  # offered below the saved rows, so the form works without JavaScript


class SegmentBuilderWidget(forms.Widget):
    """Rows of conditions as plain form inputs (`<name>-<i>-field`, `-op`, `-list`,
    `-language`, `-timezone`, `-key`, `-value`, `-days`) and the AND/OR choice
    (`<name>-match`). Keys saved before the builder travel in `<name>-legacy`."""

    template_name = "audiences/admin/segment_builder.html"

    class Media:
        js = ["audiences/segment_builder.js"]
        css = {"all": ["audiences/segment_builder.css"]}

    def format_value(self, value):
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                value = {}
        return value if isinstance(value, dict) else {}

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        filters = self.format_value(value)
        rows = [r for r in filters.get("rules") or [] if isinstance(r, dict)]
        legacy = {k: filters[k] for k in segments.LEGACY_KEYS if filters.get(k)}
        context["builder"] = {
            "match": filters.get("match") or "all",
            "match_choices": segments.MATCH_CHOICES,
            "rows": [*rows, *([{}] * BLANK_ROWS)],
            "fields": segments.FIELD_CHOICES,
            "groups": [
                (field, label, segments.OP_CHOICES[field])
                for field, label in segments.FIELD_CHOICES
            ],
            "lists": list(MailingList.objects.values_list("pk", "name")),
            "extras": [
                (extra.code, extra.value_label, list(extra.choices()))
                for extra in segments.EXTRA_FIELDS.values()
                if extra.choices is not None
            ],
            "languages": LANGUAGE_CHOICES,
            "zones": sorted(zoneinfo.available_timezones()),
            "legacy": json.dumps(legacy, ensure_ascii=False) if legacy else "",
        }
        return context

    def value_from_datadict(self, data, files, name):
        rows = []
        indexes = sorted(
            int(m["index"]) for key in data if (m := ROW_KEY.match(key)) and m["name"] == name
        )
        for i in indexes:
            prefix = f"{name}-{i}-"
            field = data.get(prefix + "field", "")
            source = {"list": "list", "language": "language", "timezone": "timezone"}
            source.update({code: f"x_{code}" for code in segments.EXTRA_FIELDS})
            rows.append(
                {
                    "field": field,
                    "op": data.get(prefix + "op", ""),
                    "key": data.get(prefix + "key", ""),
                    "value": data.get(prefix + source.get(field, "value"), ""),
                    "days": data.get(prefix + "days", ""),
                }
            )
        value = {"match": data.get(f"{name}-match", "all"), "rules": rows}
        try:
            legacy = json.loads(data.get(f"{name}-legacy") or "{}")
        except ValueError:
            legacy = {}
        if isinstance(legacy, dict):
            value.update({k: v for k, v in legacy.items() if k in segments.LEGACY_KEYS})
        return value

    def value_omitted_from_data(self, data, files, name):
        return f"{name}-match" not in data


class SegmentFiltersField(forms.Field):
    widget = SegmentBuilderWidget

    def clean(self, value):
        try:
            return segments.clean_filters(value if isinstance(value, dict) else {})
        except segments.SegmentError as exc:
            raise ValidationError(str(exc)) from None


class SegmentForm(WagtailAdminModelForm):
    filters = SegmentFiltersField(
        label=_("Conditions"),
        required=False,
        help_text=_("Leave every row empty to send to the whole list."),
    )

    class Meta:
        model = Segment
        fields = ["name", "mailing_list", "filters"]


# --- subscriber ------------------------------------------------------------------------
class AttributesField(forms.CharField):
    """Attributes as "key = value" lines rather than raw JSON (no `null`, no braces)."""

    widget = forms.Textarea(attrs={"rows": 4})

    def prepare_value(self, value):
        if isinstance(value, str):
            return value
        if not isinstance(value, dict):
            return ""
        return "\n".join(
            f"{k} = {v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)}"
            for k, v in value.items()
        )

    def to_python(self, value):
        attributes = {}
        for number, line in enumerate((value or "").splitlines(), start=1):
            if not line.strip():
                continue
            key, sep, val = line.partition("=")
            key = key.strip()
            if not sep or not key.isidentifier() or "__" in key:
                raise ValidationError(
                    _('Line %(n)s: write "name = value"; a name is letters, digits and _.')
                    % {"n": number}
                )
            attributes[key] = val.strip()
        return attributes


class SubscriberForm(WagtailAdminModelForm):
    attributes = AttributesField(
        label=_("Attributes"),
        required=False,
        help_text=_(
            'One per line, "name = value", e.g. "city = Shanghai". Segments can select on them.'
        ),
    )

    tags = forms.CharField(
        label=_("Tags"),
        required=False,
        help_text=_('Separated by commas, e.g. "vip, 上海". Changes are kept on the timeline.'),
    )

    class Meta:
        model = Subscriber
        fields = ["email", "name", "language", "timezone", "attributes"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial.setdefault("tags", ", ".join(self.instance.tag_list))

    def clean_tags(self):
        return normalise_tags(self.cleaned_data.get("tags") or "")

    def save(self, commit=True):
        """The tags go through services.set_tags, which logs what was added and
        removed (the change log), by whoever saved the form."""
        subscriber = super().save(commit=commit)
        if commit:
            user = getattr(self, "for_user", None)
            services.set_tags(subscriber, self.cleaned_data["tags"], actor=user)
        return subscriber
