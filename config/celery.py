"""The Celery app. Task defaults follow docs/architecture.md: late acks, reject on worker
lost, prefetch 1, hard and soft time limits; the periodic schedule is one table,
`CELERY_BEAT_SCHEDULE` in config/settings/base.py. All are read from settings (CELERY_*)."""

import os

from celery import Celery

from config import kombu_redis_patch
from config.ops import heartbeat

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

kombu_redis_patch.apply()

app = Celery("campaignhub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Each worker records that it is alive and what it consumes (the operations page reads it).
heartbeat.install(app)
