"""Thin Celery tasks: they take ids and call the leads services."""

from celery import shared_task

from . import services


@shared_task(acks_late=True, reject_on_worker_lost=True)
def subscribe_lead(submission_id: int, ip_hash: str):
    """A landing page's opt-in, done off the request: the page answers every address
    the same way and at once (services.subscribe_lead)."""
    services.subscribe_lead(submission_id, ip_hash)
