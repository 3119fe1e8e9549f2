"""The sponsor disclosure in the hub's own templates, from content.disclosure (the one
place that spells it). The hub's pages speak the visitor's language, so the sponsor line
follows the active language, not the page's."""

from django import template
from django.utils.translation import get_language

from content import disclosure

register = template.Library()


@register.simple_tag
def disclosure_label(page) -> str:
    return disclosure.disclosure_label(page)


@register.simple_tag
def disclosure_text(page) -> str:
    return disclosure.disclosure_text(page, language=get_language())
