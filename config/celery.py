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

# campaigns: the dispatcher claims due publications every second (DESIGN.md,
# "Scheduling"); a tick that waited longer than a few seconds in the queue is dropped,
# the next one does the same work. The sweeper recovers rows a crash left behind.
app.conf.beat_schedule["campaigns-dispatch"] = {
    "task": "campaigns.dispatch_due_publications",
    "schedule": 1.0,
    "options": {"expires": 5},
}
app.conf.beat_schedule["campaigns-sweep"] = {
    "task": "campaigns.sweep_stuck_publications",
    "schedule": 60.0,
    "options": {"expires": 50},
}
