"""Health endpoints (for load balancers and orchestrators) and the admin ops page.

/healthz answers as long as the process can run Python: it touches nothing else, so a
database outage never makes an orchestrator kill healthy web processes. /readyz says
whether this process can serve real traffic (database, migrations, broker, cache).
"""

from django.contrib.auth.decorators import permission_required
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import services


@never_cache
@require_GET
def healthz(request):
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request):
    readiness = services.check_readiness()
    body = readiness.as_dict()
    if not readiness.ok:
        failed = [name for name, c in body["checks"].items() if not c["ok"]]
        body["message"] = _("Not ready: %(failed)s unavailable.") % {"failed": ", ".join(failed)}
    return JsonResponse(body, status=200 if readiness.ok else 503)


@permission_required("ops.view_operations", raise_exception=True)
@never_cache
def operations(request):
    return render(
        request,
        "ops/operations.html",
        {
            "snapshot": services.operations_snapshot(),
            "page_title": _("Operations"),
            "header_title": _("Operations"),
            "header_icon": "cogs",
        },
    )
