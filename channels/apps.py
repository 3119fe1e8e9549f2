from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChannelsConfig(AppConfig):
    name = "channels"
    verbose_name = _("Channels")

    def ready(self):
        from config.celery import app

        # Feeds update within minutes; a tick that waited past the next one is dropped.
        app.conf.beat_schedule["channels-verify-published-posts"] = {
            "task": "channels.tasks.verify_published_posts",
            "schedule": 300.0,
            "options": {"expires": 240},
        }
