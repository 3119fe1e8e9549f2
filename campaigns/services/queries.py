"""Read-only queries for the admin screens."""

from __future__ import annotations

from django.db.models import Count, Q

from ..models import Campaign
from .state import S


def campaign_summary(campaign: Campaign) -> dict[str, int]:
    counts = dict(
        campaign.publications.values("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    return {status: counts.get(status, 0) for status, _label in S.choices}


def failed_publications(campaign: Campaign):
    return campaign.publications.filter(Q(status=S.FAILED) | Q(status=S.UNKNOWN)).select_related(
        "page", "channel_account"
    )
