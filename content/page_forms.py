"""The admin form of our content pages: Wagtail's own, plus a slug filled from the title
when it reaches the server empty.

Wagtail's editor copies the title into the slug in the browser, a moment after typing
stops; a Save pressed within that moment sent an empty slug, and the page was refused
("could not be created due to validation errors", the error hidden on the Promote tab).
Filling it here, the way the editor would have, makes a fast Save create the page."""

from django.conf import settings
from django.utils.text import slugify
from wagtail.admin.forms import WagtailAdminPageForm


class ContentPageForm(WagtailAdminPageForm):
    def __init__(self, data=None, *args, **kwargs):
        prefix = kwargs.get("prefix")
        slug_key = f"{prefix}-slug" if prefix else "slug"
        title_key = f"{prefix}-title" if prefix else "title"
        if data is not None and not (data.get(slug_key) or "").strip():
            slug = slugify(
                data.get(title_key) or "",
                allow_unicode=getattr(settings, "WAGTAIL_ALLOW_UNICODE_SLUGS", True),
            )
            if slug:
                data = data.copy()
                data[slug_key] = slug
        super().__init__(data, *args, **kwargs)
