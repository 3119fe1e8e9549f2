"""The Celery app. Task defaults follow DESIGN.md: late acks, reject on worker lost,
prefetch 1, hard and soft time limits (all set in settings as CELERY_*)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

app = Celery("campaignhub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The one beat schedule, defined in code. Entries are added by the apps that own them
# (see each app's AppConfig.ready), so there is exactly one place per periodic job.
app.conf.beat_schedule = {}
