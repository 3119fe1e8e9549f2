"""Periodic analytics work (scheduled in AnalyticsConfig.ready)."""

from celery import shared_task

from . import rollups, services


@shared_task(acks_late=True, ignore_result=True)
def drain_event_queue():
    return services.drain_event_queue()


@shared_task(acks_late=True, ignore_result=True)
def update_rollups():
    return rollups.update_rollups()


@shared_task(acks_late=True, ignore_result=True)
def purge_old_salts():
    return services.purge_old_salts()
