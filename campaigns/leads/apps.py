from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LeadsConfig(AppConfig):
    name = "campaigns.leads"
    label = "leads"
    verbose_name = _("Forms and landing pages")
    default_auto_field = "django.db.models.BigAutoField"
