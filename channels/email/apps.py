from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EmailChannelConfig(AppConfig):
    name = "channels.email"
    label = "email_channel"
    verbose_name = _("Email channel")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from config.celery import app

        # Starting a fan-out emits a signal that tasks.py listens to, so services and
        # the adapter never import Celery.
        from . import tasks  # noqa: F401

        # Batches chain themselves; the pump only restarts a send whose chain died.
        app.conf.beat_schedule["email-pump-sends"] = {
            "task": "channels.email.tasks.pump_email_sends",
            "schedule": 30.0,
            "options": {"expires": 25},
        }
