from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = _("Analytics")

    def ready(self):
        from django.core.signals import request_finished

        from . import services

        # The tracking views write their event's push before answering; once the response
        # has gone out, a full or old batch of pushes is confirmed (services.EventPusher).
        request_finished.connect(services.confirm_pushes, dispatch_uid="analytics-confirm-pushes")
        from . import seo_store  # noqa: F401 - importing it connects the SEO analysis receiver
