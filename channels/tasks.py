"""Thin Celery tasks for the channels app."""

from celery import shared_task

from . import verification


@shared_task(acks_late=True)
def verify_published_posts():
    """Look for recently published blog posts in their blogs' feeds."""
    return verification.verify_published_posts()
