from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = _("Analytics")

    def ready(self):
        from django.core.signals import request_finished

        from config.celery import app

        from . import services

        # The tracking views write their event's push before answering; once the response
        # has gone out, a full or old batch of pushes is confirmed (services.EventPusher).
        request_finished.connect(services.confirm_pushes, dispatch_uid="analytics-confirm-pushes")

        # Draining often keeps Redis small; rollups lag a minute by design (see
        # analytics.rollups.rollup_lag), so running them every 30 s is plenty.
        app.conf.beat_schedule.update(
            {
                "analytics-drain-event-queue": {
                    "task": "analytics.tasks.drain_event_queue",
                    "schedule": 2.0,
                    "options": {"expires": 10},
                },
                "analytics-update-rollups": {
                    "task": "analytics.tasks.update_rollups",
                    "schedule": 30.0,
                    "options": {"expires": 60},
                },
                "analytics-purge-old-salts": {
                    "task": "analytics.tasks.purge_old_salts",
                    "schedule": 3600.0,
                },
            }
        )
