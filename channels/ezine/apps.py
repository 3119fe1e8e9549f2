from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EZineChannelConfig(AppConfig):
    name = "channels.ezine"
    label = "ezine_channel"
    verbose_name = _("E-zine channel")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from config.celery import app

        app.conf.beat_schedule["ezine-run-due"] = {
            "task": "channels.ezine.tasks.run_due_ezines",
            "schedule": 60.0,
            "options": {"expires": 50},
        }
