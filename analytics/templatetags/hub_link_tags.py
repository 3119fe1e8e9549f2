"""`{% hub_links page %}...{% endhub_links %}`: the hub's base template wraps what it
renders in this, so every off-site link on every hub page goes through our tracking
(analytics.hub_links).

Why a block tag in the one base template every hub page extends, rather than the
alternatives: content/ is the bottom layer and imports no other app, so the tracking
must be plugged in from here; a template library is loaded by name, not imported.
Wagtail's `before_serve_page` hook can only replace a response, not post-process the
one the page renders; a middleware would have to parse every response of the site
(admin, feeds, media) and guess which page it was; a rich-text link handler sees rich
text only, not the call to action, the sponsor link or sanitised raw HTML. The tag sees
exactly the rendered HTML of the page, knows the page and the request, and is skipped in
previews. Channel renders (email, external blogs) do not use this template: they
rewrite their links with their publication's attribution (analytics.links).
"""

from django import template
from django.utils.safestring import mark_safe

from analytics.hub_links import track_hub_links

register = template.Library()


class HubLinksNode(template.Node):
    child_nodelists = ("nodelist",)  # so `{% block %}`s inside stay overridable

    def __init__(self, nodelist, page):
        self.nodelist = nodelist
        self.page = page

    def render(self, context):
        html = self.nodelist.render(context)
        page = self.page.resolve(context)
        request = context.get("request")
        page_id = getattr(page, "pk", None)
        # Previews (drafts, unsaved pages) keep their links direct: an editor's clicks
        # are not a reader's, and a draft's links must not become stored links.
        if not page_id or request is None or getattr(request, "is_preview", False):
            return html
        # The nodelist's output is already escaped where it needed to be; only href
        # values are replaced, by escaped URLs of our own.
        return mark_safe(track_hub_links(html, page_id, request_host=request.get_host()))  # noqa: S308


@register.tag("hub_links")
def hub_links(parser, token):
    bits = token.split_contents()
    if len(bits) != 2:
        raise template.TemplateSyntaxError("usage: {% hub_links page %}...{% endhub_links %}")
    nodelist = parser.parse(("endhub_links",))
    parser.delete_first_token()
    return HubLinksNode(nodelist, parser.compile_filter(bits[1]))
