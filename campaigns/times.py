"""Typing a time: the zones a person can pick, and date and date-time fields that accept
the formats people here write (2026/12/31 08:30, 2026年12月31日 08:30, ISO) with the
date chooser attached. A date-time can be read in a zone the form chooses (the
publication's own zone), not only in the user's."""

from __future__ import annotations

import datetime
import re
from functools import cache
from zoneinfo import available_timezones

from django import forms
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from wagtail.admin.widgets import AdminDateInput, AdminDateTimeInput

# What people type, normalised first (see `_normalise`): full-width digits and colons,
# 年/月/日 and "T" all become the ISO-like spelling with "-" or "/".
DATE_FORMATS = ["%Y-%m-%d", "%Y/%m/%d"]
DATETIME_FORMATS = [
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    *DATE_FORMATS,  # a date alone is midnight
]

_FULL_WIDTH = str.maketrans("０１２３４５６７８９：／－　", "0123456789:/- ")
_CJK_DATE = re.compile(r"^\s*(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?\s*(.*)$")


def _normalise(text: str) -> str:
    text = (text or "").translate(_FULL_WIDTH).strip()
    match = _CJK_DATE.match(text)
    if match:
        year, month, day, rest = match.groups()
        text = f"{year}-{month}-{day} {rest}".strip()
    # 2026-12-31T08:30 (the HTML and calendar links' spelling)
    text = re.sub(r"^(\d{4}[-/]\d{1,2}[-/]\d{1,2})T", r"\1 ", text)
    return re.sub(r"\s+", " ", text)


@cache
def zone_names() -> list[str]:
    return sorted(available_timezones())


def zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in zone_names()]


class ZoneSelect(forms.Select):
    """A select of every IANA zone name (the choices are filled in on render, so a
    model field using it needs no choices in its migrations)."""

    def __init__(self, attrs=None, choices=()):
        super().__init__(attrs, choices or zone_choices())


class TypedDateInput(AdminDateInput):
    """Wagtail's date chooser, leaving what the person typed alone: the picker's own
    check on blur would replace 2026/12/31 (a format it does not know) with today."""

    def get_config(self):
        return {**super().get_config(), "validateOnBlur": False}


class TypedDateTimeInput(AdminDateTimeInput):
    def get_config(self):
        return {**super().get_config(), "validateOnBlur": False}


class LenientDateField(forms.DateField):
    widget = TypedDateInput
    input_formats = DATE_FORMATS
    default_error_messages = {
        "invalid": _("Enter a date like 2026-12-31 (2026/12/31 and 2026年12月31日 work too)."),
    }

    def to_python(self, value):
        if isinstance(value, str):
            value = _normalise(value)
        return super().to_python(value)


class LenientDateTimeField(forms.DateTimeField):
    """A date and time in the formats above. With `naive=True` the value stays a wall
    clock time (no zone): the form attaches the zone it was typed in (see `in_zone`).
    Otherwise it is read in the user's current zone, as Django does."""

    widget = TypedDateTimeInput
    input_formats = DATETIME_FORMATS
    default_error_messages = {
        "invalid": _(
            "Enter a date and time like 2026-12-31 08:30 (2026/12/31 08:30 and "
            "2026年12月31日 08:30 work too)."
        ),
    }

    def __init__(self, *args, naive=False, **kwargs):
        self.naive = naive
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        if isinstance(value, str):
            value = _normalise(value)
        if not self.naive:
            return super().to_python(value)
        if value in self.empty_values:
            return None
        if isinstance(value, datetime.datetime):
            return value.replace(tzinfo=None) if timezone.is_aware(value) else value
        if isinstance(value, datetime.date):
            return datetime.datetime(value.year, value.month, value.day)
        for fmt in self.input_formats:
            try:
                return datetime.datetime.strptime(value.strip(), fmt)
            except (ValueError, TypeError):
                continue
        raise forms.ValidationError(self.error_messages["invalid"], code="invalid")

    def prepare_value(self, value):
        # A naive value is a wall clock time in the form's zone: shown as it is.
        if self.naive and isinstance(value, datetime.datetime) and timezone.is_naive(value):
            return value
        return super().prepare_value(value)


def read_in_zone_text(zone_name: str) -> str:
    """The help text that names the zone a time is read in (at request time, in the
    user's language)."""
    return gettext("In %(zone)s.") % {"zone": zone_name}
