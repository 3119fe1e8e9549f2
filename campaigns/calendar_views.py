"""The schedule calendar in the Wagtail admin: month and week views, drag to reschedule,
and "+" on a day or hour to start a publication there.

Times are shown and read in the user's time zone, which Wagtail activates for every
admin view (register_admin_urls). A move goes through `services.save_publication`, the
same call the publication form makes, so a drag is refused for exactly the reasons the
form would refuse it."""

from __future__ import annotations

import calendar
import datetime
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from channels.registry import FAMILY_LABELS

from . import services
from .calendar_forms import (
    SLOT_FORMAT,
    CalendarFilterForm,
    CalendarMoveForm,
    NewPublicationSlotForm,
)
from .models import Campaign, Publication
from .views import permission_required

S = Publication.Status

# Statuses whose time a person may still move, as on the publication form: a draft's
# planned time, or a scheduled or paused row's slot (a logged reschedule). Rows that are
# queued, being published, done or failed are moved by their own actions, not a drag.
MOVABLE_STATUSES = (S.DRAFT, S.SCHEDULED, S.PAUSED)
# The form reschedules a row that is scheduled or paused; a draft only keeps a new plan.
SCHEDULED_STATUSES = (S.SCHEDULED, S.PAUSED)
# A new publication from a month-view day starts at this hour (the form can change it).
DEFAULT_NEW_HOUR = 9
MAX_ITEMS = 2000
# Campaigns a "+" may add a publication to: any not closed.
OPEN_CAMPAIGN_STATUSES = (
    Campaign.Status.DRAFT,
    Campaign.Status.AWAITING_APPROVAL,
    Campaign.Status.APPROVED,
    Campaign.Status.RUNNING,
    Campaign.Status.PAUSED,
)
# A move the rules refuse is an answer, not a failed request: 200 with ok=false and the
# reasons. (Browsers log every 4xx fetch as a console error, which would make a normal
# refusal look like a fault.) Malformed input and a missing permission stay 400 and 403.
REFUSED = 200


@dataclass
class CalendarItem:
    """One publication as the calendar draws it."""

    publication: Publication
    local_at: datetime.datetime
    family: str
    movable: bool

    @property
    def family_class(self) -> str:
        return self.family if self.family in FAMILY_LABELS else "other"

    @property
    def has_send_panel(self) -> bool:
        return self.publication.has_send_panel

    @property
    def is_problem(self) -> bool:
        return self.publication.status in (S.FAILED, S.UNKNOWN)


def _range(view: str, day: datetime.date):
    """(weeks of dates shown, previous page's date, next page's date)."""
    if view == "week":
        start = day - datetime.timedelta(days=day.weekday())
        weeks = [[start + datetime.timedelta(days=i) for i in range(7)]]
        return weeks, start - datetime.timedelta(days=7), start + datetime.timedelta(days=7)
    weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(day.year, day.month)
    first = day.replace(day=1)
    prev_day = (first - datetime.timedelta(days=1)).replace(day=1)
    next_day = (first + datetime.timedelta(days=32)).replace(day=1)
    return weeks, prev_day, next_day


def _items(first: datetime.date, last: datetime.date, data: dict, can_move: bool, tz):
    start = datetime.datetime.combine(first, datetime.time.min, tzinfo=tz)
    end = datetime.datetime.combine(last + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz)
    pubs = Publication.objects.filter(publish_at__gte=start, publish_at__lt=end).select_related(
        "campaign", "page", "channel_account"
    )
    if data.get("campaign"):
        pubs = pubs.filter(campaign=data["campaign"])
    if data.get("channel"):
        pubs = pubs.filter(channel_account__kind__startswith=data["channel"] + "/")
    for pub in pubs.order_by("publish_at", "pk")[:MAX_ITEMS]:
        yield CalendarItem(
            publication=pub,
            local_at=timezone.localtime(pub.publish_at, tz),
            family=pub.channel_account.channel,
            movable=can_move and pub.status in MOVABLE_STATUSES,
        )


def _new_url(when: datetime.datetime, campaign: Campaign | None) -> str:
    """Where a "+" leads: straight to the add form when the calendar is filtered to one
    campaign that takes publications, else to the campaign picker."""
    query = urlencode({"publish_at": when.strftime(SLOT_FORMAT)})
    if campaign is not None and campaign.status in OPEN_CAMPAIGN_STATUSES:
        return reverse("campaigns_admin:publication_create", args=[campaign.pk]) + "?" + query
    return reverse("campaigns_admin:calendar_new") + "?" + query


@permission_required("campaigns.view_publication")
def schedule_calendar(request):
    form = CalendarFilterForm(request.GET or None)
    # The valid fields apply even when another is not (its error shows on the form).
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    view = data.get("view") or "month"
    today = timezone.localdate()
    day = data.get("date") or today
    tz = timezone.get_current_timezone()
    weeks, prev_day, next_day = _range(view, day)
    can_move = request.user.has_perm("campaigns.change_publication")
    can_add = request.user.has_perm("campaigns.add_publication")

    by_day: dict[datetime.date, list[CalendarItem]] = {}
    for item in _items(weeks[0][0], weeks[-1][-1], data, can_move, tz):
        by_day.setdefault(item.local_at.date(), []).append(item)

    def new_url(d: datetime.date, hour: int) -> str:
        # No "+" on past days: nothing can be scheduled there.
        if not can_add or d < today:
            return ""
        return _new_url(datetime.datetime.combine(d, datetime.time(hour)), data.get("campaign"))

    month_grid = [
        [
            {
                "date": d,
                "items": by_day.get(d, []),
                "new_url": new_url(d, DEFAULT_NEW_HOUR),
                "other_month": d.month != day.month,
            }
            for d in week
        ]
        for week in weeks
    ]
    week_rows = []
    if view == "week":
        week_rows = [
            {
                "hour": hour,
                "label": datetime.time(hour).strftime("%H:00"),
                "slots": [
                    {
                        "date": d,
                        "items": [i for i in by_day.get(d, []) if i.local_at.hour == hour],
                        "new_url": new_url(d, hour),
                    }
                    for d in weeks[0]
                ],
            }
            for hour in range(24)
        ]
    query = request.GET.copy()
    query.pop("date", None)
    return render(
        request,
        "campaigns/calendar.html",
        {
            "form": form,
            "view": view,
            "today": today,
            "day": day,
            "days": weeks[0],
            "month_grid": month_grid,
            "week_rows": week_rows,
            "prev_day": prev_day,
            "next_day": next_day,
            "query": query.urlencode(),
            # One colour per channel family (calendar.css); anything else is "other".
            "families": list(FAMILY_LABELS.items()),
            "time_zone": timezone.get_current_timezone_name(),
            "can_move": can_move,
            "js_strings": {
                "moving": _("Moving…"),
                "failed": _("The move could not be saved (no answer from the server)."),
                "refused": _("Not moved:"),
            },
        },
    )


@require_POST
def calendar_move(request, pk):
    """Drop a publication on another day (keeping its time of day) or another hour of
    the week view. Answers JSON: what happened, in words, and where the item now is."""
    # Checked here rather than by raising PermissionDenied, which Wagtail's admin wrapper
    # turns into a redirect to the dashboard: the script needs a 403 it can put in words.
    if not request.user.has_perm("campaigns.change_publication"):
        return JsonResponse(
            {"ok": False, "errors": [_("You do not have permission to move publications.")]},
            status=403,
        )
    publication = get_object_or_404(
        Publication.objects.select_related("campaign", "channel_account"), pk=pk
    )
    form = CalendarMoveForm(request.POST)
    if not form.is_valid():
        return JsonResponse(
            {"ok": False, "errors": [m for ms in form.errors.values() for m in ms]}, status=400
        )
    if publication.status not in MOVABLE_STATUSES or publication.publish_at is None:
        message = _(
            "A %(status)s publication cannot be moved on the calendar; open it to see what "
            "can be done."
        ) % {"status": publication.get_status_display().lower()}
        return JsonResponse({"ok": False, "errors": [message]}, status=REFUSED)
    tz = timezone.get_current_timezone()
    old = timezone.localtime(publication.publish_at, tz)
    hour = form.cleaned_data["hour"]
    # The wall-clock time the user sees is kept (not the UTC offset), so a move across a
    # daylight-saving change still shows the same time of day.
    new_time = old.time() if hour is None else old.time().replace(hour=hour)
    new_at = datetime.datetime.combine(form.cleaned_data["date"], new_time, tzinfo=tz)
    publication.publish_at = new_at  # a draft's plan is saved from the instance
    try:
        services.save_publication(
            publication,
            request.user,
            schedule=publication.status in SCHEDULED_STATUSES,
            publish_at=new_at,
        )
    except ValidationError as exc:
        return JsonResponse({"ok": False, "errors": exc.messages}, status=REFUSED)
    publication.refresh_from_db()
    local = timezone.localtime(publication.publish_at, tz)
    return JsonResponse(
        {
            "ok": True,
            "message": _("“%(pub)s” moved to %(day)s at %(time)s.")
            % {
                "pub": publication.effective_title,
                "day": formats.date_format(local, "DATE_FORMAT"),
                "time": local.strftime("%H:%M"),
            },
            "date": local.date().isoformat(),
            "hour": local.hour,
            "time": local.strftime("%H:%M"),
            "status": publication.status,
        }
    )


@permission_required("campaigns.add_publication")
def calendar_new(request):
    """The "+" of a day or hour: choose the campaign, then the add-publication form opens
    with that time filled in."""
    form = NewPublicationSlotForm(request.GET)
    campaigns = []
    slot = None
    if form.is_valid():
        slot = form.cleaned_data["publish_at"]
        value = slot.astimezone(timezone.get_current_timezone()).strftime(SLOT_FORMAT)
        query = urlencode({"publish_at": value})
        for campaign in Campaign.objects.filter(status__in=OPEN_CAMPAIGN_STATUSES).order_by(
            "-start_date", "name"
        ):
            url = reverse("campaigns_admin:publication_create", args=[campaign.pk])
            campaigns.append((campaign, f"{url}?{query}"))
    return render(
        request,
        "campaigns/calendar_new.html",
        {
            "form": form,
            "slot": slot,
            "campaigns": campaigns,
            "time_zone": timezone.get_current_timezone_name(),
            "can_add_campaign": request.user.has_perm("campaigns.add_campaign"),
        },
    )
