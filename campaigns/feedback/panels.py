"""The feedback page editor's "Embed" panel: the iframe code to copy onto another site
(views.embedded_form serves it; only that URL may be framed, the hub page stays DENY)."""

from django.conf import settings
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from wagtail.admin.panels import Panel


def embed_code(page) -> str:
    # Models import this panel, and models import no services: the hub's address is
    # read here, as campaigns.leads.panels does.
    src = settings.SITE_BASE_URL.rstrip("/") + reverse("feedback:embed", args=[page.pk])
    title = page.title.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return (
        f'<iframe src="{src}" title="{title}" width="100%" height="760" '
        'style="border:0" loading="lazy"></iframe>'
    )


class EmbedCodePanel(Panel):
    class BoundPanel(Panel.BoundPanel):
        def render_html(self, parent_context=None):
            page = self.instance
            if page is None or not page.pk:
                return format_html("<p>{}</p>", _("Save the page to get its embed code."))
            note = _("Only a published page can be embedded.") if not page.live else ""
            return format_html(
                '<div class="feedback-embed" data-feedback-embed>'
                "<p>{}</p>"
                '<label for="feedback-embed-iframe"><strong>{}</strong></label>'
                '<textarea id="feedback-embed-iframe" rows="3" readonly>{}</textarea>'
                "<p>{}</p></div>",
                _("Copy this into another site's page to show this feedback form there."),
                _("Iframe"),
                embed_code(page),
                note,
            )
