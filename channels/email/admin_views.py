"""Admin views for one email publication: audience, browser preview, test send,
pause/resume/cancel and progress. Thin: everything goes through channels.email.services."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.validators import validate_email
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns.audiences.models import MailingList, Segment
from campaigns.models import Publication
from channels.base import PublishError

from . import services
from .models import EmailSend


class AudienceForm(forms.Form):
    mailing_list = forms.ModelChoiceField(MailingList.objects.all(), label=gettext_lazy("List"))
    segment = forms.ModelChoiceField(
        Segment.objects.all(), required=False, label=gettext_lazy("Segment")
    )


class TestSendForm(forms.Form):
    addresses = forms.CharField(
        label=gettext_lazy("Send a test to"),
        help_text=gettext_lazy("Up to 10 addresses, comma separated."),
    )

    def clean_addresses(self):
        items = [a.strip() for a in self.cleaned_data["addresses"].split(",") if a.strip()]
        if not items or len(items) > 10:
            raise forms.ValidationError(_("Give between 1 and 10 addresses."))
        for item in items:
            validate_email(item)
        return items


def _publication(request, publication_id, perm="campaigns.change_publication"):
    if not request.user.has_perm(perm):
        raise PermissionDenied
    return get_object_or_404(
        Publication.objects.select_related("channel_account", "page"),
        pk=publication_id,
        channel_account__kind__in=["email/smtp", "ezine/email"],
    )


def email_overview(request, publication_id):
    publication = _publication(request, publication_id, "campaigns.view_publication")
    send = EmailSend.objects.filter(publication=publication).first()
    audience_form = AudienceForm(
        request.POST if request.POST.get("action") == "audience" else None,
        initial={"mailing_list": send.mailing_list_id, "segment": send.segment_id}
        if send
        else None,
    )
    test_form = TestSendForm(request.POST if request.POST.get("action") == "test" else None)
    if request.method == "POST":
        if not request.user.has_perm("campaigns.change_publication"):
            raise PermissionDenied
        action = request.POST.get("action")
        try:
            if action == "audience" and audience_form.is_valid():
                services.set_email_audience(
                    publication,
                    audience_form.cleaned_data["mailing_list"],
                    audience_form.cleaned_data["segment"],
                )
                messages.success(request, _("Audience saved."))
                return redirect(request.path)
            if action == "test" and test_form.is_valid():
                adapter = publication.channel_account.get_adapter()
                rendered = adapter.render(publication)
                n = services.send_test_email(
                    publication, rendered, test_form.cleaned_data["addresses"]
                )
                messages.success(request, _("Test sent to %(n)s address(es).") % {"n": n})
                return redirect(request.path)
            if send and action in ("pause", "resume", "cancel"):
                {
                    "pause": services.pause_email_send,
                    "resume": services.resume_email_send,
                    "cancel": services.cancel_email_send,
                }[action](send)
                messages.success(request, _("Done."))
                return redirect(request.path)
        except (PublishError, services.TransientSendError, ValueError) as exc:
            messages.error(request, str(exc))
    context = {
        "publication": publication,
        "send": send,
        "counts": services.send_counts(send) if send else None,
        "audience_form": audience_form,
        "test_form": test_form,
    }
    return TemplateResponse(request, "email_channel/admin/overview.html", context)


def email_preview(request, publication_id):
    publication = _publication(request, publication_id, "campaigns.view_publication")
    try:
        rendered = publication.channel_account.get_adapter().render(publication)
    except PublishError as exc:
        return HttpResponse(str(exc), content_type="text/plain; charset=utf-8", status=400)
    response = HttpResponse(services.preview_html(publication, rendered))
    # The preview is our own rendered issue; still, never let it run script in the admin.
    response["Content-Security-Policy"] = "script-src 'none'; sandbox allow-same-origin"
    return response
