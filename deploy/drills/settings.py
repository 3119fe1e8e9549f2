"""Django settings for every process a drill starts (runner, workers, beat, web).

The production code paths with drill-sized clocks: the same services, tasks and beat
schedule, but a stuck row is recovered after seconds instead of minutes, so a drill that
kills a worker finishes within its time budget. Nothing else differs from production.
"""

from config.settings.base import *  # noqa: F401,F403
from config.settings.base import env

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
CELERY_SPLIT_QUEUES = True
from config.ops.queues import TASK_ROUTES as CELERY_TASK_ROUTES  # noqa: E402,F401

# Recovery clocks (production: 300 s / time limit + 60 s). The hard time limit stays
# below the "publishing" timeout so the sweeper never races a live attempt.
CELERY_TASK_TIME_LIMIT = 20
CELERY_TASK_SOFT_TIME_LIMIT = 15
CAMPAIGNS_STUCK_QUEUED_SECONDS = env.int("DRILL_STUCK_QUEUED_SECONDS", default=8)
CAMPAIGNS_STUCK_PUBLISHING_SECONDS = env.int("DRILL_STUCK_PUBLISHING_SECONDS", default=25)
CAMPAIGNS_RETRY_BASE_SECONDS = 2
CAMPAIGNS_RETRY_MAX_SECONDS = 10
EMAIL_CLAIM_LEASE_SECONDS = env.int("DRILL_EMAIL_CLAIM_LEASE_SECONDS", default=25)
EMAIL_PUMP_IDLE_SECONDS = env.int("DRILL_EMAIL_PUMP_IDLE_SECONDS", default=10)
# The broker's visibility timeout (Redis redelivers an unacked message after 3600 s)
# stays as in production: after a kill -9 the drill waits for the sweeper and the
# e-mail pump to reclaim the dead worker's rows from the database, as production does.
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
