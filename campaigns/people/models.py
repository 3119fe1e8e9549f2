"""The people app's own tables.

DataRightsRequest: the log of personal-data requests carried out (an export, an
erasure): who, when, which action, and the person only as the keyed hash of their
address (campaigns/audiences/erased.py), never the address itself, so the log outlives
an erasure without undoing it.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class DataRightsRequest(models.Model):
    class Action(models.TextChoices):
        EXPORT_JSON = "export_json", _("Export (JSON)")
        EXPORT_CSV = "export_csv", _("Export (CSV)")
        ERASE = "erase", _("Erasure")

    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    # The subscriber's id at the time (gone after an erasure) and their address's key.
    subscriber_id = models.BigIntegerField(_("subscriber id"), null=True, blank=True)
    person_key = models.CharField(_("person (hash of the address)"), max_length=80, db_index=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("carried out by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Rows per table exported or erased: {"<table>": n}.
    counts = models.JSONField(_("rows per table"), default=dict, blank=True)
    created_at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("personal data request")
        verbose_name_plural = _("personal data requests")
        ordering = ["-created_at"]
        default_permissions = ("view",)
        permissions = [
            ("export_personal_data", _("Can export a person's data")),
            ("erase_personal_data", _("Can erase a person's data")),
        ]

    def __str__(self):
        return f"{self.get_action_display()} {self.person_key[:15]}"
