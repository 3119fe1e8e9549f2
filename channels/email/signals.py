"""The fan-out's one signal, in a module of its own so that the modules that send it
(audience freezing, resume) and the one that listens (tasks) share no other import."""

import django.dispatch

# Sent (sender=EmailSend, send_id=...) after commit when a fan-out starts or resumes.
# channels.email.tasks listens and enqueues the batch tasks, so the services and the
# adapter never import Celery.
email_send_started = django.dispatch.Signal()
