from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EZineChannelConfig(AppConfig):
    name = "channels.ezine"
    label = "ezine_channel"
    verbose_name = _("E-zine channel")
    default_auto_field = "django.db.models.BigAutoField"
