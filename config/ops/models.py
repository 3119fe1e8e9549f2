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


class WorkerHeartbeat(models.Model):
    """A Celery worker's last sign of life and the queues it consumes, written by the
    worker itself every OPS_WORKER_HEARTBEAT_SECONDS (config/ops/heartbeat.py) and
    deleted when it shuts down cleanly. A row older than three intervals is a worker
    that died without saying so."""

    hostname = models.CharField(_("worker"), max_length=255, unique=True)
    queues = models.JSONField(_("queues"), default=list)
    pid = models.PositiveIntegerField(_("process id"), null=True)
    started_at = models.DateTimeField(_("started"))
    seen_at = models.DateTimeField(_("last seen"), db_index=True)

    class Meta:
        default_permissions = ()
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")

    def __str__(self):
        return self.hostname
