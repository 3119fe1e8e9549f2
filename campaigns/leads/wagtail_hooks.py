"""Landing pages in the Wagtail admin and on the hub: every request for a landing page is
answered by views.serve_landing_page (limits, field errors, thanks), after Wagtail's own
before_serve_page hooks (view restrictions, others' page-view hooks) had their say."""

from wagtail import hooks

from .models import LandingPage
from .views import serve_landing_page


def _serve_landing_page(page, request, serve_args, serve_kwargs):
    if isinstance(page, LandingPage):
        return serve_landing_page(page, request, embed=False)
    return None


# Last: a restricted page's password or login prompt, and any other app's hook, first.
hooks.register("before_serve_page", _serve_landing_page, order=1000)
