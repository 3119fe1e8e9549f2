"""Admin views for email and e-zine sends: the send panel of one publication (its
checklist, audience, browser preview, test send, live progress, pause/resume/cancel),
its progress as JSON for the panel's polling, and the list of sends. Thin: the figures
come from channels.email.progress and .checklist, every change from the services."""

import datetime

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.core.validators import validate_email
from django.db.models import Case, IntegerField, Value, When
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from campaigns.audiences.models import MailingList, Segment
from campaigns.models import Publication
from channels.base import PublishError

from . import services
from .checklist import is_ready, send_checklist
from .control import control_email_send
from .models import EmailSend
from .progress import send_progress

EMAIL_KINDS = ["email/smtp", "ezine/email"]
VIEW_PERM = "campaigns.view_publication"
CHANGE_PERM = "campaigns.change_publication"


class AudienceForm(forms.Form):
    mailing_list = forms.ModelChoiceField(
        MailingList.objects.order_by("name"), label=gettext_lazy("List")
    )
    segment = forms.ModelChoiceField(
        Segment.objects.select_related("mailing_list").order_by("name"),
        required=False,
        label=gettext_lazy("Segment"),
        help_text=gettext_lazy("Optional: only the list's members who match the segment."),
    )

    def clean(self):
        data = super().clean()
        segment, mailing_list = data.get("segment"), data.get("mailing_list")
        if segment and mailing_list and segment.mailing_list_id != mailing_list.pk:
            self.add_error(
                "segment",
                _("The segment “%(segment)s” belongs to the list “%(list)s”.")
                % {"segment": segment.name, "list": segment.mailing_list.name},
            )
        return data


class TestSendForm(forms.Form):
    addresses = forms.CharField(
        label=gettext_lazy("Send a test to"),
        help_text=gettext_lazy("Up to 10 addresses, comma separated."),
    )

    def clean_addresses(self):
        items = [a.strip() for a in self.cleaned_data["addresses"].split(",") if a.strip()]
        if not items or len(items) > 10:
            raise forms.ValidationError(_("Give between 1 and 10 addresses."))
        bad = []
        for item in items:
            try:
                validate_email(item)
            except forms.ValidationError:
                bad.append(item)
        if bad:
            raise forms.ValidationError(
                _("Not an email address: %(bad)s") % {"bad": ", ".join(bad)}
            )
        return items


def _publication(request, publication_id, perm=CHANGE_PERM):
    if not request.user.has_perm(perm):
        raise PermissionDenied
    return get_object_or_404(
        Publication.objects.select_related("channel_account", "page", "campaign"),
        pk=publication_id,
        channel_account__kind__in=EMAIL_KINDS,
    )


def _test_key(publication) -> str:
    return f"email_test:{publication.pk}"


def email_overview(request, publication_id):
    publication = _publication(request, publication_id, VIEW_PERM)
    send = EmailSend.objects.filter(publication=publication).first()
    action = request.POST.get("action")
    audience_form = AudienceForm(
        request.POST if action == "audience" else None,
        initial={"mailing_list": send.mailing_list_id, "segment": send.segment_id}
        if send
        else None,
        prefix="audience",
    )
    test_form = TestSendForm(
        request.POST if action == "test" else None,
        initial={"addresses": request.user.email},
        prefix="test",
    )
    if request.method == "POST":
        if not request.user.has_perm(CHANGE_PERM):
            raise PermissionDenied
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
                return _test_send(request, publication, test_form.cleaned_data["addresses"])
            if action in ("pause", "resume", "cancel"):
                if send is None:
                    messages.error(request, _("Nothing is being sent yet."))
                else:
                    changed, text = control_email_send(send, action)
                    (messages.success if changed else messages.warning)(request, text)
                return redirect(request.path)
        except (PublishError, services.TransientSendError, ValueError) as exc:
            messages.error(request, str(exc))
    checklist = send_checklist(publication, last_test=request.session.get(_test_key(publication)))
    context = {
        "publication": publication,
        "send": send,
        "checklist": [(item, _fix_link(request, publication, item.fix)) for item in checklist],
        "ready": is_ready(checklist),
        "audience_form": audience_form,
        "test_form": test_form,
        "can_change": request.user.has_perm(CHANGE_PERM),
        "progress_html": _progress_html(request, publication, send),
        "progress_url": reverse("email_progress", args=[publication.pk]),
        "running": _is_running(publication, send),
    }
    return TemplateResponse(request, "email_channel/admin/overview.html", context)


def _test_send(request, publication, addresses):
    adapter = publication.channel_account.get_adapter()
    rendered = adapter.render(publication)
    n = services.send_test_email(publication, rendered, addresses)
    if n:
        request.session[_test_key(publication)] = {
            "to": addresses,
            "at": timezone.localtime().strftime("%Y-%m-%d %H:%M ")
            + f"({timezone.get_current_timezone_name()})",
        }
        messages.success(
            request,
            ngettext("Test sent to %(n)s address.", "Test sent to %(n)s addresses.", n) % {"n": n},
        )
    else:
        messages.error(request, _("The mail server refused every test address."))
    return redirect(request.path)


def _fix_link(request, publication, fix: str) -> tuple[str, str, bool] | None:
    """(url, label, opens a new tab) of an item's fix, when this person may use it."""
    user = request.user
    can_change = user.has_perm(CHANGE_PERM)
    if fix == "audience" and can_change:
        return "#send-audience", _("Choose the audience"), False
    if fix == "test" and can_change:
        return "#send-test", _("Send a test"), False
    if fix == "preview":
        return reverse("email_preview", args=[publication.pk]), _("Open the preview"), True
    if fix == "account" and user.has_perm("channels.change_channelaccount"):
        url = reverse("channels_admin:account_edit", args=[publication.channel_account_id])
        return url, _("Edit the sending account"), False
    if fix == "publication" and can_change:
        url = reverse("campaigns_admin:publication_edit", args=[publication.pk])
        return url, _("Edit the publication"), False
    if fix == "page" and publication.page.permissions_for_user(user).can_edit():
        url = reverse("wagtailadmin_pages:edit", args=[publication.page_id])
        return url, _("Edit the page"), False
    return None


# A panel left open on a scheduled send starts watching this long before its time, so
# the marketer sees it start without reloading.
WATCH_BEFORE = datetime.timedelta(minutes=15)


def _is_running(publication, send) -> bool:
    """Worth polling: the send is sending, its publication is going out and the audience
    is about to be frozen, or it is scheduled to go out within WATCH_BEFORE."""
    if send is not None and send.frozen_at:
        return send.status == EmailSend.Status.SENDING
    S = Publication.Status
    if publication.status in (S.QUEUED, S.PUBLISHING):
        return True
    return (
        publication.status == S.SCHEDULED
        and publication.publish_at is not None
        and publication.publish_at <= timezone.now() + WATCH_BEFORE
    )


def _progress_html(request, publication, send) -> str:
    progress = send_progress(send) if send is not None and send.frozen_at else None
    return render_to_string(
        "email_channel/admin/_progress.html",
        {
            "publication": publication,
            "send": send,
            "progress": progress,
            "can_change": request.user.has_perm(CHANGE_PERM),
        },
        request=request,
    )


def email_progress(request, publication_id):
    """The panel's progress as JSON, for its polling: the figures and the block's HTML
    (rendered by the same template as the first page load)."""
    publication = _publication(request, publication_id, VIEW_PERM)
    send = EmailSend.objects.filter(publication=publication).first()
    figures = send_progress(send).as_json() if send is not None and send.frozen_at else None
    return JsonResponse(
        {
            "running": _is_running(publication, send),
            "progress": figures,
            "html": _progress_html(request, publication, send),
        }
    )


def email_preview(request, publication_id):
    publication = _publication(request, publication_id, VIEW_PERM)
    try:
        rendered = publication.channel_account.get_adapter().render(publication)
    except PublishError as exc:
        return HttpResponse(str(exc), content_type="text/plain; charset=utf-8", status=400)
    response = HttpResponse(services.preview_html(publication, rendered))
    # The preview is our own rendered issue; still, never let it run script in the admin.
    response["Content-Security-Policy"] = "script-src 'none'; sandbox allow-same-origin"
    return response


# Running sends first, then the ones waiting to go out, then the ones that ended.
_SEND_ORDER = Case(
    When(email_send__status=EmailSend.Status.SENDING, then=Value(0)),
    When(email_send__status=EmailSend.Status.PAUSED, then=Value(1)),
    When(status__in=["queued", "publishing"], then=Value(2)),
    When(status="scheduled", then=Value(3)),
    When(status="draft", then=Value(4)),
    default=Value(5),
    output_field=IntegerField(),
)


def email_sends(request):
    """Every email and e-zine publication with its send's progress, running first."""
    if not request.user.has_perm(VIEW_PERM):
        raise PermissionDenied
    publications = (
        Publication.objects.filter(channel_account__kind__in=EMAIL_KINDS)
        .select_related("campaign", "channel_account", "page", "email_send")
        .annotate(send_order=_SEND_ORDER)
        .order_by("send_order", "publish_at", "-pk")
    )
    page = Paginator(publications, 50).get_page(request.GET.get("p"))
    rows = []
    for publication in page:
        send = getattr(publication, "email_send", None)
        frozen = send is not None and send.frozen_at
        rows.append((publication, send, send_progress(send) if frozen else None))
    return TemplateResponse(
        request, "email_channel/admin/sends.html", {"rows": rows, "page_obj": page}
    )
