"""Periodic analytics work (scheduled in CELERY_BEAT_SCHEDULE, config/settings/base.py)."""

from celery import shared_task

from . import draining, rollups, visitors
from .search import importing


@shared_task(acks_late=True, ignore_result=True)
def drain_event_queue():
    return draining.drain_event_queue()


@shared_task(acks_late=True, ignore_result=True)
def update_rollups():
    return rollups.update_rollups()


@shared_task(acks_late=True, ignore_result=True)
def purge_old_salts():
    return visitors.purge_old_salts()


@shared_task(acks_late=True, ignore_result=True)
def import_search_queries():
    """Search Console and Baidu Tongji queries through each active analytics connection."""
    return importing.import_all_active()
