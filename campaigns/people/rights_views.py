"""The personal data rights screens: export (JSON, CSV zip), erasure with its
confirmation, and the read-only log. Each checks its permission, then calls one
service (rights.py)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from campaigns.audiences.erased import canonical
from campaigns.audiences.models import Subscriber

from . import rights
from .models import DataRightsRequest

EXPORT = "people.export_personal_data"
ERASE = "people.erase_personal_data"
VIEW_LOG = "people.view_datarightsrequest"


def _need(request, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


def _download(content: bytes, content_type: str, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


def export_json(request, subscriber_id: int):
    _need(request, EXPORT)
    subscriber = get_object_or_404(Subscriber, pk=subscriber_id)
    content = rights.export_json(subscriber, request.user)
    return _download(
        content, "application/json; charset=utf-8", rights.filename(subscriber, "json")
    )


def export_csv(request, subscriber_id: int):
    _need(request, EXPORT)
    subscriber = get_object_or_404(Subscriber, pk=subscriber_id)
    content = rights.export_csv_zip(subscriber, request.user)
    return _download(content, "application/zip", rights.filename(subscriber, "zip"))


class EraseForm(forms.Form):
    address = forms.CharField(
        label=gettext_lazy("Type the person's email address to confirm"),
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args, subscriber: Subscriber, **kwargs):
        super().__init__(*args, **kwargs)
        self.subscriber = subscriber

    def clean_address(self):
        typed = self.cleaned_data["address"]
        if canonical(typed) != canonical(self.subscriber.email):
            raise forms.ValidationError(_("This is not the person's address."))
        return typed


@require_http_methods(["GET", "POST"])
def erase(request, subscriber_id: int):
    _need(request, ERASE)
    subscriber = get_object_or_404(Subscriber, pk=subscriber_id)
    form = EraseForm(request.POST or None, subscriber=subscriber)
    if request.method == "POST" and form.is_valid():
        entry = rights.erase(subscriber, request.user)
        messages.success(
            request,
            _("The person's data was erased. Log entry %(id)s.") % {"id": entry.pk},
        )
        return redirect(reverse("subscriber:index"))
    return TemplateResponse(
        request, "people/rights_erase.html", {"subscriber": subscriber, "form": form}
    )


def log(request):
    _need(request, VIEW_LOG)
    entries = DataRightsRequest.objects.select_related("requested_by")
    page = Paginator(entries, 50).get_page(request.GET.get("p"))
    return TemplateResponse(request, "people/rights_log.html", {"page": page})
