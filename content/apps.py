from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class ContentConfig(AppConfig):
    name = "content"
    verbose_name = _("Content")

    def ready(self):
        from .roles import sync_roles_after_migrate

        post_migrate.connect(sync_roles_after_migrate, sender=self, dispatch_uid="content-roles")
