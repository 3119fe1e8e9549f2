"""The Celery app the drill's workers and beats run: the project's own app, plus the
drill adapter in the registry and the periodic safety nets on drill-sized intervals."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "deploy.drills.settings")

import django  # noqa: E402

django.setup()

from channels import registry  # noqa: E402
from config.celery import app  # noqa: E402

registry.ADAPTERS["blog/drill_counter"] = (
    "deploy.drills.adapter.DrillCounterAdapter",
    "Drill counter",
)

_INTERVALS = {"campaigns-sweep": 3.0}
for name, entry in app.conf.beat_schedule.items():
    if name in _INTERVALS:
        entry["schedule"] = _INTERVALS[name]
    elif "pump" in entry.get("task", "") or "drain" in entry.get("task", ""):
        # E-mail pump and click drain: every few seconds instead of every minute.
        entry["schedule"] = min(float(entry["schedule"]), 3.0)
        entry.get("options", {}).pop("expires", None)

# The e-mail claim lease is a module constant in channels.email.services (15 min, above
# the production hard time limit). Drill workers have a 20 s hard limit, so a 25 s lease
# keeps the same invariant ("a claim this old belongs to a dead worker").
try:
    import datetime

    from django.conf import settings

    from channels.email import services as email_services

    def _drill_clock(fn, value: datetime.timedelta):
        if fn.__defaults__:
            fn.__defaults__ = tuple(
                value if isinstance(d, datetime.timedelta) else d for d in fn.__defaults__
            )

    lease = datetime.timedelta(seconds=settings.EMAIL_CLAIM_LEASE_SECONDS)
    email_services.CLAIM_LEASE = lease
    _drill_clock(email_services.release_stale_claims, lease)
    # The pump restarts a send whose batch chain died (a killed worker, a chained
    # enqueue refused while the broker was down) once it has made no progress for
    # `idle_for` (a minute in production, pumped every 30 s). Drill-sized like the rest.
    _drill_clock(
        email_services.active_send_ids_needing_workers,
        datetime.timedelta(seconds=settings.EMAIL_PUMP_IDLE_SECONDS),
    )
except ImportError:
    pass

__all__ = ["app"]
