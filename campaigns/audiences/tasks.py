"""Thin Celery tasks: they take ids and call the audience services."""

from celery import shared_task

from . import importing


@shared_task(acks_late=True, reject_on_worker_lost=True)
def check_subscriber_import(job_id: int):
    importing.check_import(job_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def import_subscribers(job_id: int):
    importing.run_import(job_id)
