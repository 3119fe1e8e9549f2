from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PeopleConfig(AppConfig):
    name = "campaigns.people"
    label = "people"
    verbose_name = _("People")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from campaigns.audiences.segments import ExtraField, register_field

        from . import key_accounts
        from .providers import all_providers
        from .registry import register

        for provider in all_providers():
            register(provider)
        register_field(
            ExtraField(
                code="key_account",
                label=_("Key account"),
                ops=[("is", _("is")), ("is_not", _("is not"))],
                condition=key_accounts.condition,
                choices=key_accounts.owner_choices,
                value_label=_("owned by"),
            )
        )
        # Export and erasure of the same tables (rights_data.py), as providers of their own.
        from .rights_data import register_rights_providers

        register_rights_providers()
