"""The feedback inbox in the admin (menu "Feedback"): the list of cases with filters
(status, category, assignee, overdue) and the case page (the whole thread, reply,
internal note, assign, change status). Viewing needs feedback.view_case, acting
feedback.change_case; every action goes through services."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from . import services
from .forms import AssignForm, ReplyForm, StatusForm
from .models import Case, Category

VIEW = "feedback.view_case"
CHANGE = "feedback.change_case"


def _require(request, permission):
    if not request.user.has_perm(permission):
        raise PermissionDenied


def index(request):
    _require(request, VIEW)
    params = request.GET
    qs = services.filter_cases(params)
    page = Paginator(qs, 50).get_page(params.get("p"))
    return TemplateResponse(
        request,
        "feedback/admin/index.html",
        {
            "title": _("Feedback"),
            "page": page,
            "now": timezone.now(),
            "params": params,
            "statuses": [
                ("unresolved", _("Not resolved")),
                *Case.Status.choices,
                ("all", _("All")),
            ],
            "categories": Category.choices,
            "staff": services.staff_users(),
        },
    )


def _entries(case: Case, staff) -> list:
    """The thread, each assignment with the assignee's name."""
    names = {u.pk: u.get_full_name() or u.get_username() for u in staff}
    entries = list(case.entries.select_related("author"))
    for entry in entries:
        if entry.kind == entry.Kind.ASSIGNED:
            target = (entry.data or {}).get("to")
            entry.target = names.get(target, "-") if target else _("nobody")
    return entries


@require_http_methods(["GET", "HEAD", "POST"])
def case_view(request, pk: int):
    _require(request, VIEW)
    case = get_object_or_404(Case.objects.select_related("assignee", "subscriber", "page"), pk=pk)
    can_change = request.user.has_perm(CHANGE)
    staff = services.staff_users()
    reply_form = ReplyForm()
    if request.method == "POST":
        _require(request, CHANGE)
        action = request.POST.get("action", "")
        if action in ("reply", "note"):
            reply_form = ReplyForm(request.POST)
            if reply_form.is_valid():
                body = reply_form.cleaned_data["body"]
                if action == "reply":
                    services.reply(case, request.user, body)
                    if services.may_email(case):
                        sent = _("Reply sent to %(email)s.") % {"email": case.email}
                    else:
                        sent = _("Reply saved, not emailed: we may not email this address.")
                    messages.success(request, sent)
                else:
                    services.add_note(case, request.user, body)
                    messages.success(request, _("Internal note added."))
                return redirect("feedback_admin:case", pk=case.pk)
        elif action == "assign":
            form = AssignForm(request.POST, users=staff)
            if form.is_valid():
                services.assign(case, request.user, form.cleaned_data["assignee"])
                messages.success(request, _("Assignee saved."))
                return redirect("feedback_admin:case", pk=case.pk)
        elif action == "status":
            form = StatusForm(request.POST, choices=Case.Status.choices)
            if form.is_valid():
                services.set_status(case, form.cleaned_data["status"], request.user)
                messages.success(request, _("Status saved."))
                return redirect("feedback_admin:case", pk=case.pk)
        messages.error(request, _("Please correct the form."))
    return TemplateResponse(
        request,
        "feedback/admin/case.html",
        {
            "title": _("Case %(reference)s") % {"reference": case.reference},
            "case": case,
            "entries": _entries(case, staff),
            "can_change": can_change,
            "may_email": services.may_email(case),
            "reply_form": reply_form,
            "assign_form": AssignForm(initial={"assignee": case.assignee_id}, users=staff),
            "status_form": StatusForm(initial={"status": case.status}, choices=Case.Status.choices),
            "overdue": case.is_open and case.due_at <= timezone.now(),
        },
    )
