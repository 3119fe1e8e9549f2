from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    """Nothing is set up when the app loads: the event pusher installs its hooks when
    the tracking views import it (analytics.pusher), so processes that never serve them
    (Celery workers, management commands) carry no pusher, thread or fork hook."""

    name = "analytics"
    verbose_name = _("Analytics")

    def ready(self):
        # Importing it connects the receiver that stores SEO analyses (content announces them).
        from . import seo_store  # noqa: F401
