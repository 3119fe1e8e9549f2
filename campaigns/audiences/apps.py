from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AudiencesConfig(AppConfig):
    name = "campaigns.audiences"
    label = "audiences"
    verbose_name = _("Audiences")
    default_auto_field = "django.db.models.BigAutoField"
