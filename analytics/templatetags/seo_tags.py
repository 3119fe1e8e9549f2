"""SEO hints on the home page's "SEO scores to fix" panel, in the reader's language:
the hints are stored as codes (content.seo.messages) and put in words here, while the
reader's request is being rendered."""

from django import template

from content.seo import top_hint_messages

from ..seo_dashboard import latest_analyses

register = template.Library()


@register.simple_tag
def seo_top_hints(pages, limit: int = 2) -> dict:
    """page id -> the first hints of its latest analysis (one query for all pages)."""
    latest = latest_analyses([page.pk for page in pages])
    return {pk: top_hint_messages(analysis.hints, limit) for pk, analysis in latest.items()}


@register.filter
def get_item(mapping, key):
    return (mapping or {}).get(key) or []
