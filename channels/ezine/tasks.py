"""Thin Celery tasks for e-zines."""

from celery import shared_task

from . import services


@shared_task(acks_late=True)
def run_due_ezines():
    for ezine_id in services.due_ezine_ids():
        run_ezine.delay(ezine_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def run_ezine(ezine_id: int):
    services.run_ezine(ezine_id)
