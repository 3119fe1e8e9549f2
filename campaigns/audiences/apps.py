from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AudiencesConfig(AppConfig):
    name = "campaigns.audiences"
    label = "audiences"
    verbose_name = _("Audiences")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.core import checks

        from .erased import check_erasure_key

        post_migrate.connect(_install_triggers, sender=self)
        checks.register(check_erasure_key, checks.Tags.security, deploy=True)


def _install_triggers(using="default", **kwargs):
    """SQLite drops a table's triggers when a migration rebuilds it: put them back."""
    from django.db import connections

    from . import triggers

    triggers.install(connections[using])
