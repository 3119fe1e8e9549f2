from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("Campaigns")

    def ready(self):
        # Importing connects the receivers: page approval (receivers) and the hand-off
        # of claimed publications to Celery (tasks), so the services never import Celery;
        # new users get the team's time zone (team).
        from . import receivers, tasks, team  # noqa: F401
