from django.db import models
from django.utils.translation import gettext_lazy as _


class Operations(models.Model):
    """No table: this exists only to carry the permission that guards the admin
    operations page (queue depths, workers and failures reveal infrastructure)."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_operations", _("Can view the operations page"))]
        verbose_name = _("operations")
        verbose_name_plural = _("operations")
