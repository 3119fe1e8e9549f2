from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EmailChannelConfig(AppConfig):
    name = "channels.email"
    label = "email_channel"
    verbose_name = _("Email channel")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Starting a fan-out emits a signal that tasks.py listens to, so services and
        # the adapter never import Celery.
        from . import receivers, tasks  # noqa: F401 - importing them connects them
