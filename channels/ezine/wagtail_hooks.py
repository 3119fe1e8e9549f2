"""All admin registration for the e-zine: its setup screen (Channels > E-zines)."""

from wagtail import hooks

from .admin_views import ezine_viewset


@hooks.register("register_admin_viewset")
def register_ezine_viewset():
    return ezine_viewset
