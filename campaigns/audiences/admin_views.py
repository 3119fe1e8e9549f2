"""Admin views for CSV import (upload, preview + column mapping, progress) and export.
Thin: the work is in campaigns.audiences.importing."""

import csv

from django import forms
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from . import importing
from .models import ImportJob, MailingList

MAX_UPLOAD = 50 * 1024 * 1024


class UploadForm(forms.Form):
    file = forms.FileField(label=_("CSV file"))
    encoding = forms.ChoiceField(
        label=_("Encoding"),
        choices=[("auto", _("Detect (UTF-8 or GBK)")), ("utf-8", "UTF-8"), ("gbk", "GBK")],
    )
    consent_basis = forms.CharField(
        label=_("Consent basis"),
        max_length=300,
        help_text=_("Where and how these people agreed to receive email. Required."),
    )


def _require(request, perm):
    if not request.user.has_perm(perm):
        raise PermissionDenied


def import_upload(request, list_id):
    _require(request, "audiences.add_subscriber")
    mailing_list = get_object_or_404(MailingList, pk=list_id)
    if request.method == "POST" and request.POST.get("step") == "confirm":
        job = get_object_or_404(
            ImportJob, pk=request.POST.get("job"), status=ImportJob.Status.PENDING
        )
        mapping = {}
        for field in importing.FIELDS:
            value = request.POST.get(f"map_{field}", "")
            if value.isdigit():
                mapping[field] = int(value)
        job.mapping = mapping
        job.save(update_fields=["mapping"])
        from .tasks import import_subscribers

        transaction.on_commit(lambda: import_subscribers.delay(job.pk))
        return redirect("audiences_import_status", job_id=job.pk)
    form = UploadForm(request.POST or None, request.FILES or None)
    context = {"form": form, "mailing_list": mailing_list, "preview": None, "error": ""}
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > MAX_UPLOAD:
            context["error"] = _("The file is larger than 50 MB.")
        else:
            data = upload.read()
            try:
                preview = importing.preview_csv(data, form.cleaned_data["encoding"])
            except importing.ImportFileError as exc:
                context["error"] = str(exc)
            else:
                job = ImportJob.objects.create(
                    mailing_list=mailing_list,
                    file=data,
                    encoding=preview["encoding"],
                    mapping=preview["mapping"],
                    consent_basis=form.cleaned_data["consent_basis"],
                    created_by=request.user,
                )
                context.update(
                    preview=preview,
                    job=job,
                    fields=importing.FIELDS,
                    columns=list(enumerate(preview["header"])),
                )
    return TemplateResponse(request, "audiences/admin/import.html", context)


def import_status(request, job_id):
    _require(request, "audiences.add_subscriber")
    job = get_object_or_404(ImportJob, pk=job_id)
    progress = importing.import_progress(job)
    if request.GET.get("format") == "json":
        return JsonResponse(progress)
    return TemplateResponse(
        request, "audiences/admin/import_status.html", {"job": job, "progress": progress}
    )


class _Echo:
    def write(self, value):
        return value


def export_list(request, list_id):
    _require(request, "audiences.view_subscriber")
    mailing_list = get_object_or_404(MailingList, pk=list_id)
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in importing.export_rows(mailing_list)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{mailing_list.slug}.csv"'
    return response
