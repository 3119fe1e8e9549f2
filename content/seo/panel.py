"""The SEO panel of the page editor."""

from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from wagtail.admin.panels import Panel

from .pages import analyse_page
from .result import LEVEL_GOOD, LEVEL_IMPROVE, LEVEL_ORDER, LEVEL_PROBLEM

_LEVEL_LABELS = {
    LEVEL_PROBLEM: gettext_lazy("Problem"),
    LEVEL_IMPROVE: gettext_lazy("Improve"),
    LEVEL_GOOD: gettext_lazy("Good"),
}
_LEVEL_COLOURS = {LEVEL_PROBLEM: "#b91c1c", LEVEL_IMPROVE: "#a16207", LEVEL_GOOD: "#15803d"}


class SeoAnalysisPanel(Panel):
    """Read-only panel with the score and hints of the page as last saved."""

    class BoundPanel(Panel.BoundPanel):
        def render_html(self, parent_context=None):
            page = self.instance
            if page is None or not page.pk:
                return format_html("<p>{}</p>", _("Save the page to see its SEO analysis."))
            result = analyse_page(page)
            hints = sorted(result.hints, key=lambda h: LEVEL_ORDER[h.level])
            rows = format_html_join(
                "",
                '<li><strong style="color:{}">{}</strong> {}</li>',
                ((_LEVEL_COLOURS[h.level], _LEVEL_LABELS[h.level], h.message) for h in hints),
            )
            return format_html(
                '<div class="seo-analysis" data-seo-score="{}"><p><strong>{}</strong> {}/100 '
                "({})</p><ul>{}</ul></div>",
                result.score,
                _("SEO score:"),
                result.score,
                _("Chinese, measured in characters") if result.language == "zh" else _("English"),
                mark_safe(rows),  # noqa: S308 - built by format_html_join above
            )
