from django import template
from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import format_html

from analytics.dashboards import shown

register = template.Library()


@register.filter
def cell(row, key):
    """row[key] for the dashboard tables: rates as percentages, channels by name, lists
    joined."""
    value = shown(key, row.get(key)) if isinstance(row, dict) else None
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return "" if value is None else value


@register.simple_tag
def analytics_beacon(page):
    """The first-party page-view beacon for a hub page: `{% analytics_beacon page %}`
    in the page template, just before </body>."""
    if not getattr(page, "pk", None):
        return ""
    return format_html(
        '<script src="{}" data-page="{}" data-endpoint="{}" defer></script>',
        static("analytics/beacon.js"),
        page.pk,
        reverse("analytics:pageview_beacon"),
    )
