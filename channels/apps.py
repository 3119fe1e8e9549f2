from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChannelsConfig(AppConfig):
    name = "channels"
    verbose_name = _("Channels")

    def ready(self):
        # Importing connects the feed check to campaigns' `publication_published`
        # signal, so the publish service never names this channel feature.
        from . import verification  # noqa: F401
