"""Landing pages on the hub: every request for a landing page is answered by
views.serve_landing_page (limits, field errors, thanks). It is the innermost link of
Wagtail's serve chain (on_serve_page, registered last), so Wagtail's view restrictions
(a private page's password or sign-in) and any other app's wrapper run first."""

from wagtail import hooks

from .models import LandingPage
from .views import serve_landing_page


def _serve_landing_pages(serve_next):
    def serve(page, request, args, kwargs):
        if isinstance(page, LandingPage):
            return serve_landing_page(page, request, embed=False)
        return serve_next(page, request, args, kwargs)

    return serve


hooks.register("on_serve_page", _serve_landing_pages, order=1000)
