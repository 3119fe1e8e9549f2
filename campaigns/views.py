"""Wagtail admin views for campaigns and the schedule. Thin: every change goes through
campaigns.services; every view checks a permission (on top of Wagtail's admin access,
which register_admin_urls adds and which also activates the user's time zone)."""

import datetime
from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from channels.base import PublishError

from . import notifications, recurrence, services
from .budget import campaign_spend
from .forms import (
    BulkRescheduleForm,
    CampaignForm,
    PublicationCostForm,
    PublicationForm,
    RecurrencePreviewForm,
)
from .models import Campaign, Publication

S = Publication.Status


def permission_required(*perms):
    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.has_perms(perms):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def permission_required_any(*perms):
    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not any(request.user.has_perm(perm) for perm in perms):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


# Channel families whose publications are sent to an audience: their send panel
# (channels/email) shows the audience, test send and progress.


def _error_messages(exc: ValidationError) -> list[str]:
    return exc.messages


def warn_if_over_budget(request, campaign) -> None:
    """A total cost over the budget is never silent: say so after every save."""
    spend = campaign_spend(campaign)
    if spend.over_budget:
        messages.warning(
            request,
            _(
                "The costs entered (%(spent)s %(currency)s) exceed the campaign's budget "
                "(%(budget)s %(currency)s) by %(over)s %(currency)s."
            )
            % {
                "spent": spend.spent,
                "budget": spend.budget,
                "over": spend.over_by,
                "currency": spend.currency,
            },
        )


# --- Campaigns ---------------------------------------------------------------------------


@permission_required("campaigns.view_campaign")
def campaign_index(request):
    status = request.GET.get("status", "")
    campaigns = Campaign.objects.select_related("owner").annotate(
        n_publications=Count("publications"),
        n_problems=Count("publications", filter=Q(publications__status__in=(S.FAILED, S.UNKNOWN))),
        n_published=Count("publications", filter=Q(publications__status=S.PUBLISHED)),
    )
    if status in Campaign.Status.values:
        campaigns = campaigns.filter(status=status)
    page = Paginator(campaigns, 50).get_page(request.GET.get("p"))
    return render(
        request,
        "campaigns/campaign_index.html",
        {"page_obj": page, "statuses": Campaign.Status.choices, "current_status": status},
    )


@permission_required("campaigns.add_campaign")
def campaign_create(request):
    form = CampaignForm(request.POST or None, initial={"owner": request.user})
    if request.method == "POST" and form.is_valid():
        try:
            campaign = services.create_campaign(request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Campaign “%(name)s” created.") % {"name": campaign.name})
            warn_if_over_budget(request, campaign)
            return redirect("campaigns_admin:detail", campaign.pk)
    return render(request, "campaigns/campaign_form.html", {"form": form, "campaign": None})


@permission_required("campaigns.change_campaign")
def campaign_edit(request, pk):
    campaign = get_object_or_404(Campaign, pk=pk)
    if campaign.status in (Campaign.Status.CANCELLED, Campaign.Status.FINISHED):
        messages.error(request, _("A closed campaign cannot be edited."))
        return redirect("campaigns_admin:detail", pk)
    form = CampaignForm(request.POST or None, instance=campaign)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_campaign(campaign, request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Campaign saved."))
            warn_if_over_budget(request, campaign)
            return redirect("campaigns_admin:detail", pk)
    return render(request, "campaigns/campaign_form.html", {"form": form, "campaign": campaign})


@permission_required("campaigns.view_campaign")
def campaign_detail(request, pk):
    campaign = get_object_or_404(Campaign.objects.select_related("owner", "approved_by"), pk=pk)
    publications = campaign.publications.select_related(
        "page", "page__content_type", "channel_account", "email_send"
    ).order_by("publish_at", "pk")
    return render(
        request,
        "campaigns/campaign_detail.html",
        {
            "campaign": campaign,
            "publications": publications,
            "problems": services.failed_publications(campaign),
            "summary": [
                (S(status).label, n)
                for status, n in services.campaign_summary(campaign).items()
                if n
            ],
            "bulk_form": BulkRescheduleForm(campaign=campaign),
            "spend": campaign_spend(campaign),
            "can_approve": request.user.has_perm("campaigns.approve_campaign"),
            "can_change": request.user.has_perm("campaigns.change_campaign"),
            "can_add_publication": request.user.has_perm("campaigns.add_publication"),
            "statuses": S,
        },
    )


# Lazy: built at import, read in the language of each request.
CAMPAIGN_ACTIONS = {
    "submit": (
        "campaigns.change_campaign",
        services.submit_campaign_for_approval,
        gettext_lazy("Submitted for approval."),
    ),
    "approve": (
        "campaigns.approve_campaign",
        services.approve_campaign,
        gettext_lazy("Campaign approved."),
    ),
    "reject": (
        "campaigns.approve_campaign",
        services.reject_campaign,
        gettext_lazy("Campaign sent back to draft."),
    ),
    "pause": (
        "campaigns.change_campaign",
        services.pause_campaign,
        gettext_lazy("Campaign paused."),
    ),
    "resume": (
        "campaigns.change_campaign",
        services.resume_campaign,
        gettext_lazy("Campaign resumed."),
    ),
    "cancel": (
        "campaigns.change_campaign",
        services.cancel_campaign,
        gettext_lazy("Campaign cancelled."),
    ),
}


@require_POST
def campaign_action(request, pk, action):
    if action not in CAMPAIGN_ACTIONS:
        raise Http404
    perm, func, done = CAMPAIGN_ACTIONS[action]
    if not request.user.has_perm(perm):
        raise PermissionDenied
    campaign = get_object_or_404(Campaign, pk=pk)
    try:
        func(campaign, request.user)
    except ValidationError as exc:
        for message in _error_messages(exc):
            messages.error(request, message)
    else:
        messages.success(request, str(done))  # now, in the admin's language for this user
    return redirect("campaigns_admin:detail", pk)


@require_POST
@permission_required("campaigns.change_publication")
def bulk_reschedule(request, pk):
    campaign = get_object_or_404(Campaign, pk=pk)
    form = BulkRescheduleForm(request.POST, campaign=campaign)
    if not form.is_valid():
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
        return redirect("campaigns_admin:detail", pk)
    shift = form.cleaned_data.get("shift_hours")
    done, errors = services.bulk_reschedule_publications(
        form.cleaned_data["publications"],
        request.user,
        shift=datetime.timedelta(hours=shift) if shift not in (None, "") else None,
        publish_at=form.cleaned_data.get("publish_at"),
    )
    if done:
        messages.success(request, _("%(n)d publications rescheduled.") % {"n": len(done)})
    for pub_pk, errs in errors.items():
        messages.error(request, _("#%(pk)d: %(errors)s") % {"pk": pub_pk, "errors": " ".join(errs)})
    return redirect("campaigns_admin:detail", pk)


# --- Publications ------------------------------------------------------------------------

EDITABLE = (S.DRAFT, S.SCHEDULED, S.PAUSED, S.FAILED)


def _save_publication(request, form):
    """Save the form and (re)schedule through the service, which does both in one
    transaction: if scheduling is refused, nothing is saved and the form is shown
    again with the reasons."""
    try:
        return services.save_publication(
            form.instance,  # holds the form's values once the form is valid; not saved yet
            request.user,
            schedule=bool(form.cleaned_data.get("schedule")),
            publish_at=form.cleaned_data.get("publish_at"),
        )
    except ValidationError as exc:
        for message in _error_messages(exc):
            form.add_error(None, message)
        return None


# A publication created from a calendar day starts at the start of a working morning.
DEFAULT_START_OF_DAY = datetime.time(9, 0)


def _initial_time(query) -> datetime.datetime | None:
    """The wall-clock time a link asks the new publication to start at:
    ?publish_at=YYYY-MM-DDTHH:MM, or ?date=YYYY-MM-DD (at 09:00). Read in the form's
    zone, which for a new publication starts as the team's. Unreadable values are
    ignored: the form then starts empty, as without the parameter."""
    try:
        if query.get("publish_at"):
            return datetime.datetime.strptime(query["publish_at"][:16], "%Y-%m-%dT%H:%M")
        if query.get("date"):
            day = datetime.date.fromisoformat(query["date"])
            return datetime.datetime.combine(day, DEFAULT_START_OF_DAY)
    except ValueError:
        return None
    return None


@permission_required("campaigns.add_publication")
def publication_create(request, campaign_pk):
    campaign = get_object_or_404(Campaign, pk=campaign_pk)
    publication = Publication(campaign=campaign)
    initial = {}
    if "page" in request.GET:
        initial["page"] = request.GET["page"]
    when = _initial_time(request.GET)
    if when is not None:
        initial["publish_at"] = when
    form = PublicationForm(request.POST or None, instance=publication, initial=initial)
    if request.method == "POST" and form.is_valid():
        pub = _save_publication(request, form)
        if pub is not None:
            messages.success(
                request, _("Publication saved (%(status)s).") % {"status": pub.get_status_display()}
            )
            warn_if_over_budget(request, campaign)
            return redirect("campaigns_admin:publication_edit", pub.pk)
    return render(
        request,
        "campaigns/publication_form.html",
        {
            "form": form,
            "campaign": campaign,
            "publication": None,
            "preview_url": reverse("campaigns_admin:recurrence_preview"),
        },
    )


def _occurrence_labels(rule: str, start: datetime.datetime, zone_name: str) -> list[str]:
    """The next five occurrences as wall-clock times of the series' zone, with the
    weekday (in the user's language): what the marketer checks the rule against."""
    zone = recurrence.get_zone(zone_name)
    return [
        dateformat.format(when.astimezone(zone), "D Y-m-d H:i")
        for when in recurrence.upcoming_occurrences(rule, start, zone_name)
    ]


@permission_required_any("campaigns.add_publication", "campaigns.change_publication")
def recurrence_preview(request):
    """JSON for the recurrence builder: the RRULE the choices make and its next five
    occurrences in the chosen zone (from the publish time, or the next full hour)."""
    form = RecurrencePreviewForm(request.GET)
    if not form.is_valid():
        # Answered with 200: a half-typed rule is the normal state of a preview, and
        # the browser would log every 4xx as a console error.
        errors = [m for messages_ in form.errors.values() for m in messages_]
        return JsonResponse({"rule": "", "occurrences": [], "errors": errors})
    rule = form.cleaned_data["recurrence"]
    zone_name = form.cleaned_data["timezone"]
    start = form.cleaned_data.get("publish_at")
    if start is None:
        start = (timezone.now() + datetime.timedelta(hours=1)).replace(
            minute=0, second=0, microsecond=0
        )
    try:
        labels = _occurrence_labels(rule, start, zone_name) if rule else []
    except ValidationError as exc:
        return JsonResponse({"rule": rule, "occurrences": [], "errors": _error_messages(exc)})
    return JsonResponse({"rule": rule, "zone": zone_name, "occurrences": labels, "errors": []})


def render_preview(publication):
    """(rendered, error message) from the channel adapter's own render."""
    try:
        adapter = publication.channel_account.get_adapter()
        return adapter.render_preview(publication), ""
    except PublishError as exc:
        return None, str(exc)
    except Exception as exc:  # noqa: BLE001 - show the editor what went wrong
        return None, _("This channel cannot render a preview: %(error)s") % {"error": exc}


@permission_required("campaigns.change_publication")
def publication_edit(request, pk):
    publication = get_object_or_404(
        Publication.objects.select_related("campaign", "page", "channel_account"), pk=pk
    )
    editable = publication.status in EDITABLE
    form = PublicationForm(
        request.POST or None,
        instance=publication,
        initial={"schedule": publication.status in (S.SCHEDULED, S.PAUSED)},
    )
    if request.method == "POST":
        if not editable:
            messages.error(
                request,
                _("A %(status)s publication cannot be edited.")
                % {"status": publication.get_status_display().lower()},
            )
            return redirect("campaigns_admin:publication_edit", pk)
        if form.is_valid():
            pub = _save_publication(request, form)
            if pub is not None:
                messages.success(
                    request,
                    _("Publication saved (%(status)s).") % {"status": pub.get_status_display()},
                )
                warn_if_over_budget(request, publication.campaign)
                return redirect("campaigns_admin:publication_edit", pk)
        publication.refresh_from_db()
    rendered, preview_error = render_preview(publication)
    upcoming = []
    if publication.recurrence and publication.publish_at:
        try:
            upcoming = _occurrence_labels(
                publication.recurrence, publication.publish_at, publication.timezone
            )
        except ValidationError:
            upcoming = []
    return render(
        request,
        "campaigns/publication_form.html",
        {
            "form": form,
            "campaign": publication.campaign,
            "publication": publication,
            "editable": editable,
            "rendered": rendered,
            "preview_error": preview_error,
            "upcoming": upcoming,
            "preview_url": reverse("campaigns_admin:recurrence_preview"),
            "has_send_panel": publication.has_send_panel,
            "cost_form": PublicationCostForm(instance=publication),
            "events": publication.events.select_related("actor").order_by("-created_at", "-pk")[
                :20
            ],
        },
    )


@require_POST
@permission_required("campaigns.change_publication")
def publication_cost(request, pk):
    """The cost alone, in any status (a sponsored post is often priced once it is out)."""
    publication = get_object_or_404(Publication.objects.select_related("campaign"), pk=pk)
    form = PublicationCostForm(request.POST, instance=Publication(pk=publication.pk))
    if form.is_valid():
        services.set_publication_cost(publication, form.cleaned_data["cost"], request.user)
        messages.success(request, _("Cost saved."))
        warn_if_over_budget(request, publication.campaign)
    else:
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
    return redirect("campaigns_admin:publication_edit", pk)


@permission_required("campaigns.view_publication")
def publication_log(request, pk):
    publication = get_object_or_404(Publication.objects.select_related("campaign"), pk=pk)
    events = publication.events.select_related("actor").order_by("created_at", "pk")
    return render(
        request, "campaigns/publication_log.html", {"publication": publication, "events": events}
    )


# Lazy: built at import, read in the language of each request.
PUBLICATION_ACTIONS = {
    "pause": (services.pause_publication, gettext_lazy("Publication paused.")),
    "resume": (services.resume_publication, gettext_lazy("Publication resumed.")),
    "cancel": (services.cancel_publication, gettext_lazy("Publication cancelled.")),
    "retry": (services.retry_publication, gettext_lazy("Publication will be retried.")),
    "mark_published": (services.mark_publication_published, gettext_lazy("Marked as published.")),
}


@require_POST
@permission_required("campaigns.change_publication")
def publication_action(request, pk, action):
    if action not in PUBLICATION_ACTIONS:
        raise Http404
    publication = get_object_or_404(Publication, pk=pk)
    func, done = PUBLICATION_ACTIONS[action]
    try:
        if action == "retry":
            func(
                publication, request.user, confirmed_not_posted=request.POST.get("confirmed") == "1"
            )
        elif action == "mark_published":
            func(publication, request.POST.get("url", ""), request.user)
        else:
            func(publication, request.user)
    except ValidationError as exc:
        for message in _error_messages(exc):
            messages.error(request, message)
    else:
        messages.success(request, str(done))  # now, in the admin's language for this user
    target = request.POST.get("next", "")
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect("campaigns_admin:detail", publication.campaign_id)


# --- Notifications -----------------------------------------------------------------------


def notification_index(request):
    notes = notifications.notifications_for(request.user)
    if request.method == "POST":
        notifications.mark_notifications_read(request.user)
        return redirect("campaigns_admin:notifications")
    return render(request, "campaigns/notifications.html", {"notifications": notes})


def campaign_url(campaign):
    return reverse("campaigns_admin:detail", args=[campaign.pk])
