from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("Campaigns")

    def ready(self):
        # Importing connects the receivers: page approval (receivers) and the hand-off
        # of claimed publications to Celery (tasks), so the services never import Celery.
        from . import receivers, tasks  # noqa: F401
