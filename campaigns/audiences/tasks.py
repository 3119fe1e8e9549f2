"""Thin Celery tasks: they take ids and call the audience services."""

from celery import shared_task

from . import importing, listing, services


@shared_task(acks_late=True, reject_on_worker_lost=True)
def check_subscriber_import(job_id: int):
    importing.check_import(job_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def import_subscribers(job_id: int):
    importing.run_import(job_id)


@shared_task
def sweep_stale_imports():
    importing.sweep_stale_imports()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def subscribe_from_form(list_id: int, email: str, name: str, language: str, ip_hash: str):
    """A subscribe form's post, done off the request: the form's answer takes the same
    time whoever the address belongs to (services.subscribe_from_form)."""
    services.subscribe_from_form(list_id, email, name=name, language=language, ip_hash=ip_hash)


@shared_task
def refresh_list_counts():
    """Recount every list's subscribed members for the list index (listing.py)."""
    listing.refresh_list_counts()
