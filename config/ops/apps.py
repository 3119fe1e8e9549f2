from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpsConfig(AppConfig):
    """Operations: health endpoints, JSON logs, queue routing and the admin ops page."""

    name = "config.ops"
    label = "ops"
    verbose_name = _("Operations")

    def ready(self):
        from .logging import install_celery_context

        install_celery_context()
