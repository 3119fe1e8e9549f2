"""The landing page editor's "Embed" panel: the iframe and the script tag to copy onto
another site (views.embedded_form and views.embed_script serve them)."""

from django.conf import settings
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from wagtail.admin.panels import Panel


def embed_codes(page) -> dict:
    """The iframe and the script tag an editor copies onto another site."""
    # The page's model imports this panel, and models import no services: the hub's
    # address is read here rather than through audiences.services.absolute_url.
    base = settings.SITE_BASE_URL.rstrip("/")
    src = base + reverse("leads:embed", args=[page.pk])
    script = base + reverse("leads:embed_script", args=[page.pk])
    title = page.title.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return {
        "iframe": f'<iframe src="{src}" title="{title}" width="100%" height="640" '
        'style="border:0" loading="lazy"></iframe>',
        "script": f'<script src="{script}" data-height="640" async></script>',
    }


class EmbedCodePanel(Panel):
    class BoundPanel(Panel.BoundPanel):
        def render_html(self, parent_context=None):
            page = self.instance
            if page is None or not page.pk:
                return format_html("<p>{}</p>", _("Save the page to get its embed codes."))
            codes = embed_codes(page)
            note = _("Only a published page can be embedded.") if not page.live else ""
            return format_html(
                '<div class="lead-embed" data-lead-embed>'
                "<p>{}</p>"
                '<label for="lead-embed-iframe"><strong>{}</strong></label>'
                '<textarea id="lead-embed-iframe" class="lead-embed-code" rows="3" readonly>{}'
                "</textarea>"
                '<label for="lead-embed-script"><strong>{}</strong></label>'
                '<textarea id="lead-embed-script" class="lead-embed-code" rows="2" readonly>{}'
                "</textarea>"
                "<p>{}</p></div>",
                _("Copy one of these into another site's page to show this form there."),
                _("Iframe"),
                codes["iframe"],
                _("Script tag"),
                codes["script"],
                note,
            )
