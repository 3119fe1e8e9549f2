"""Admin views for CSV import (upload, column mapping, the report and the choice to
import the valid rows, the error CSV), export, and the segment builder's live count;
the subscriber listing's filters and the mailing lists' member-count column.
Thin: the work is in campaigns.audiences.importing, listing, segments and services."""

import csv

import django_filters
from django import forms
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.defaultfilters import yesno
from django.template.response import TemplateResponse
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST
from wagtail.admin import messages
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.ui.tables import Column

from . import csv_export, importing, listing, segments, services
from .admin_forms import MappingForm, SegmentBuilderWidget, UploadForm
from .models import LANGUAGE_CHOICES, ImportJob, MailingList, Subscriber
from .tasks import check_subscriber_import, import_subscribers

# Excel reads a CSV as the system's ANSI code page (GBK on Chinese Windows) unless the
# file starts with a UTF-8 byte order mark.
BOM = "\ufeff"


class YesNoColumn(Column):
    """A yes/no field in the reader's words (是/否), not Python's True/False."""

    def get_value(self, instance):
        return yesno(super().get_value(instance))


class MemberCountColumn(Column):
    """A list's subscribed members: the stored count and how long ago it was counted
    (listing.member_counts), never a count of millions of rows per page view. The index
    view counts its page's lists at once (`member_count_info`); else one list's own."""

    def get_value(self, instance):
        info = getattr(instance, "member_count_info", None) or listing.member_count(instance)
        text = listing.describe_count(info)
        if info["counted_at"] is None:
            return text
        return _("%(count)s (counted %(when)s ago)") % {
            "count": text,
            "when": timesince(info["counted_at"], depth=1),
        }


class SubscriberFilterSet(WagtailFilterSet):
    """The subscriber index's filters: language, membership of a list, a tag. Each is
    one indexed condition (segments.list_member_condition, segments.tag_condition)."""

    language = django_filters.ChoiceFilter(
        label=gettext_lazy("Language"),
        choices=LANGUAGE_CHOICES,
        empty_label=gettext_lazy("All"),
        widget=forms.RadioSelect,
    )
    mailing_list = django_filters.ModelChoiceFilter(
        label=gettext_lazy("Subscribed to"),
        queryset=MailingList.objects.all(),
        method="filter_mailing_list",
    )
    tag = django_filters.CharFilter(label=gettext_lazy("Tag"), method="filter_tag")

    class Meta:
        model = Subscriber
        fields = []

    def filter_mailing_list(self, queryset, name, value):
        return queryset.filter(segments.list_member_condition(value.pk)) if value else queryset

    def filter_tag(self, queryset, name, value):
        return queryset.filter(segments.tag_condition(value)) if value.strip() else queryset


def _require(request, perm):
    if not request.user.has_perm(perm):
        raise PermissionDenied


def import_upload(request, list_id=None):
    """Step 1: the file, its list and consent basis; then which column is which."""
    _require(request, "audiences.add_subscriber")
    if request.method == "POST" and request.POST.get("step") == "map":
        job = get_object_or_404(
            ImportJob, pk=request.POST.get("job"), status=ImportJob.Status.PENDING
        )
        header = importing.preview_csv(importing.job_file(job.pk), job.encoding)["header"]
        mapping_form = MappingForm(request.POST, header=header)
        if mapping_form.is_valid():
            job.mapping = mapping_form.mapping()
            job.save(update_fields=["mapping"])
            transaction.on_commit(lambda: check_subscriber_import.delay(job.pk))
            return redirect("audiences_import_status", job_id=job.pk)
        return _mapping_page(request, job, mapping_form)
    initial = {}
    if list_id is not None:
        initial["mailing_list"] = get_object_or_404(MailingList, pk=list_id)
    form = UploadForm(request.POST or None, request.FILES or None, initial=initial)
    error = ""
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data["file"].read()
        try:
            preview = importing.preview_csv(data, form.cleaned_data["encoding"])
        except importing.ImportFileError as exc:
            error = str(exc)
        else:
            job = ImportJob.objects.create(
                mailing_list=form.cleaned_data["mailing_list"],
                file=data,
                encoding=preview["encoding"],
                mapping=preview["mapping"],
                consent_basis=form.cleaned_data["consent_basis"],
                created_by=request.user,
            )
            initial = {f"map_{k}": str(v) for k, v in preview["mapping"].items()}
            return _mapping_page(
                request, job, MappingForm(initial=initial, header=preview["header"]), preview
            )
    return TemplateResponse(
        request,
        "audiences/admin/import.html",
        {"form": form, "error": error, "mailing_list": initial.get("mailing_list")},
    )


def _mapping_page(request, job, mapping_form, preview=None):
    preview = preview or importing.preview_csv(importing.job_file(job.pk), job.encoding)
    return TemplateResponse(
        request,
        "audiences/admin/import_mapping.html",
        {"job": job, "mailing_list": job.mailing_list, "form": mapping_form, "preview": preview},
    )


def import_status(request, job_id):
    """Step 2: the report (or the progress while checking or importing), and the button
    that imports the valid rows."""
    _require(request, "audiences.add_subscriber")
    job = get_object_or_404(
        ImportJob.objects.select_related("mailing_list").defer("file"), pk=job_id
    )
    if request.method == "POST":
        if importing.confirm_import(job):
            transaction.on_commit(lambda: import_subscribers.delay(job.pk))
        else:
            messages.warning(
                request, _("This import has already started or has nothing to import.")
            )
        return redirect("audiences_import_status", job_id=job.pk)
    progress = importing.import_progress(job)
    if request.GET.get("format") == "json":
        return JsonResponse(progress)
    total = job.total_rows or 1
    bars = [
        (job.valid_rows if job.status != ImportJob.Status.DONE else job.imported_rows, "valid"),
        (job.skipped_rows, "skipped"),
        (job.rejected_rows, "rejected"),
    ]
    return TemplateResponse(
        request,
        "audiences/admin/import_status.html",
        {
            "job": job,
            "progress": progress,
            "working": job.status
            in (ImportJob.Status.PENDING, ImportJob.Status.CHECKING, ImportJob.Status.RUNNING),
            "bars": [(n, kind, round(100 * n / total, 1)) for n, kind in bars if n],
            # Reasons in the reader's words (stored as codes, see importing.REASONS).
            "problems": [
                {**p, "reason": importing.describe(p)} for p in job.errors[: importing.MAX_REPORTED]
            ],
            "more_problems": max(0, len(job.errors) - importing.MAX_REPORTED),
            "import_label": ngettext(
                "Import the %(n)s valid row", "Import the %(n)s valid rows", job.valid_rows
            )
            % {"n": job.valid_rows},
        },
    )


class _Echo:
    def write(self, value):
        return value


def _csv_response(rows, filename: str) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def lines():
        yield BOM
        for row in rows:
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def import_errors(request, job_id):
    """The rows not imported, with row number and reason, as a CSV Excel opens."""
    _require(request, "audiences.add_subscriber")
    job = get_object_or_404(
        ImportJob.objects.select_related("mailing_list").defer("file"), pk=job_id
    )
    if job.status in (ImportJob.Status.PENDING, ImportJob.Status.CHECKING):
        raise Http404
    try:
        rows = list(importing.error_rows(job))
    except importing.ImportFileError:
        rows = [[_("row"), _("reason")], *[[e["row"], importing.describe(e)] for e in job.errors]]
    return _csv_response(rows, f"import-{job.pk}-errors.csv")


def export_list(request, list_id=None):
    """One list's subscriptions, or every list's when no list is named."""
    _require(request, "audiences.view_subscriber")
    mailing_list = get_object_or_404(MailingList, pk=list_id) if list_id is not None else None
    name = mailing_list.slug if mailing_list else "subscribers"
    response = StreamingHttpResponse(
        csv_export.export_chunks(mailing_list), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


@require_POST
def segment_count(request):
    """How many subscribers the segment builder's unsaved rows match, as JSON."""
    _require(request, "audiences.view_subscriber")
    list_id = request.POST.get("mailing_list") or ""
    mailing_list = MailingList.objects.filter(pk=list_id).first() if list_id.isdigit() else None
    # Answers are 200 with a message: a 4xx would log a console error while typing.
    if mailing_list is None:
        return JsonResponse({"error": _("Choose a mailing list to count its subscribers.")})
    filters = SegmentBuilderWidget().value_from_datadict(request.POST, None, "filters")
    try:
        count, exact = services.estimate_count(mailing_list=mailing_list, filters=filters)
    except services.AudienceError as exc:
        return JsonResponse({"error": str(exc)})
    if exact:
        text = ngettext("%(n)s subscriber matches.", "%(n)s subscribers match.", count)
    else:  # estimated from a sample while the exact count would keep you waiting
        text = ngettext(
            "About %(n)s subscriber matches (estimate).",
            "About %(n)s subscribers match (estimate).",
            count,
        )
    return JsonResponse({"count": count, "exact": exact, "text": text % {"n": count}})
