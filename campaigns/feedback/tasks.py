from celery import shared_task

from . import services


@shared_task(name="campaigns.feedback.tasks.escalate_overdue_cases", ignore_result=True)
def escalate_overdue_cases() -> int:
    """Every minute (CELERY_BEAT_SCHEDULE): overdue cases to the managers, each once."""
    return len(services.escalate_overdue())
