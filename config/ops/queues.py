"""Celery queues for a scaled-out deployment: sending vs publishing vs tracking.

Routing is by task-name pattern, so a task added later to an app's tasks.py lands on its
app's queue without anyone editing this file. It is switched on by
CELERY_SPLIT_QUEUES=true (docker-compose.yml does); development keeps everything on the
default queue so the single `make run` worker consumes it all.

Why three queues: an e-mail fan-out of 100k recipients must never delay a blog post due
now (publishing), and neither may delay draining click events (tracking), whose Redis
buffer is the only copy of an acknowledged click until it is written to PostgreSQL.
"""

PUBLISHING = "publishing"
SENDING = "sending"
TRACKING = "tracking"
DEFAULT = "celery"

# Order matters: Celery uses the first matching glob. E-mail fan-out tasks live in
# channels/email, channels/ezine and campaigns/audiences; they go to "sending" before the
# campaigns.* catch-all sends the dispatcher and publish tasks to "publishing".
TASK_ROUTES = [
    {
        "channels.email.*": {"queue": SENDING},
        "channels.ezine.*": {"queue": SENDING},
        "campaigns.audiences.*": {"queue": SENDING},
        "analytics.*": {"queue": TRACKING},
        "campaigns.*": {"queue": PUBLISHING},
        "channels.*": {"queue": PUBLISHING},
        "content.*": {"queue": PUBLISHING},
    }
]

ALL_QUEUES = (PUBLISHING, SENDING, TRACKING, DEFAULT)
