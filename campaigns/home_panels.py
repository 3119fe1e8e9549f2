"""The campaign panels of the admin home page: what a marketer must see first (the next
seven days, failures to retry, campaigns waiting for approval) and what waits for an
approver. Added by `construct_homepage_panels` in wagtail_hooks, each only for the
users whose permissions let them act on it.

The home page is every user's first screen: each panel reads with one or two queries
(select_related, aggregates) and caps its rows.
"""

from __future__ import annotations

import datetime

from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from wagtail.admin.ui.components import Component

from .models import Campaign, Publication

S = Publication.Status
CS = Campaign.Status

ROWS = 10
UPCOMING_DAYS = 7
UPCOMING_STATUSES = (S.SCHEDULED, S.QUEUED, S.PUBLISHING)
PROBLEM_STATUSES = (S.FAILED, S.UNKNOWN)
# A failure in a closed campaign needs nobody's action any more.
CLOSED_CAMPAIGNS = (CS.CANCELLED, CS.FINISHED)


def can_manage_publications(user) -> bool:
    return user.has_perm("campaigns.change_publication")


def can_approve(user) -> bool:
    return user.has_perm("campaigns.approve_campaign")


class UpcomingPublicationsPanel(Component):
    """Publications due in the next seven days, soonest first. Shown even when empty:
    "nothing scheduled" is news too, with the way to the calendar."""

    name = "campaigns_upcoming"
    template_name = "campaigns/home/upcoming.html"
    order = 60

    def get_context_data(self, parent_context):
        now = timezone.now()
        qs = (
            Publication.objects.filter(
                status__in=UPCOMING_STATUSES,
                publish_at__gte=now - datetime.timedelta(minutes=5),
                publish_at__lt=now + datetime.timedelta(days=UPCOMING_DAYS),
            )
            .select_related("campaign", "channel_account", "page")
            .order_by("publish_at", "pk")
        )
        rows = list(qs[: ROWS + 1])
        return {
            "publications": rows[:ROWS],
            "more": len(rows) > ROWS,
            "days": UPCOMING_DAYS,
            "calendar_url": reverse("campaigns_admin:calendar"),
            "request": parent_context.get("request"),
        }


class PublicationProblemsPanel(Component):
    """Failed publications and those whose outcome is unknown, each with Retry (the
    retry looks an unknown post up before sending again, so it is safe to offer)."""

    name = "campaigns_problems"
    template_name = "campaigns/home/problems.html"
    order = 55

    def get_context_data(self, parent_context):
        qs = (
            Publication.objects.filter(status__in=PROBLEM_STATUSES)
            .exclude(campaign__status__in=CLOSED_CAMPAIGNS)
            .select_related("campaign", "channel_account", "page")
            .order_by("-updated_at", "-pk")
        )
        return {
            "publications": list(qs[:ROWS]),
            "request": parent_context.get("request"),
            "csrf_token": parent_context.get("csrf_token"),
        }


class CampaignApprovalsPanel(Component):
    """Campaigns waiting for approval: for an approver, what waits for them; for a
    marketer, what waits for someone else."""

    name = "campaigns_awaiting_approval"
    template_name = "campaigns/home/approvals.html"
    order = 45

    def __init__(self, approver: bool):
        self.approver = approver

    def get_context_data(self, parent_context):
        qs = (
            Campaign.objects.filter(status=CS.AWAITING_APPROVAL)
            .select_related("owner")
            .annotate(publication_count=Count("publications"))
            .order_by("updated_at", "pk")
        )
        return {
            "campaigns": list(qs[:ROWS]),
            "approver": self.approver,
            "user": parent_context["request"].user,
        }


def panels_for(user) -> list[Component]:
    """The campaign panels `user` may act on."""
    panels: list[Component] = []
    if can_approve(user) or user.has_perm("campaigns.change_campaign"):
        panels.append(CampaignApprovalsPanel(approver=can_approve(user)))
    if can_manage_publications(user):
        panels += [PublicationProblemsPanel(), UpcomingPublicationsPanel()]
    return panels
