"""The web version of an email issue ("View in your browser" and the hub's newsletter
pages): the merge fields the inbox fills in per recipient ({{ name }}, {{ first_name }},
{{ email }}) read as the greeting an unnamed subscriber gets, never as template code."""

import re

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import override

register = template.Library()

MERGE_FIELD_RE = re.compile(r"\{\{\s*(name|first_name|email)\s*\}\}")


@register.filter(is_safe=True)
def without_merge_fields(html, language=""):
    """`html` (rendered, already escaped) with each merge field replaced: a name by the
    word a nameless recipient is greeted with in `language` ("there", "朋友"), an
    address by nothing."""
    with override(language or None):
        nameless = conditional_escape(_("there"))
    merged = MERGE_FIELD_RE.sub(lambda m: "" if m.group(1) == "email" else nameless, str(html))
    return mark_safe(merged)  # noqa: S308 - escaped input, escaped replacement
