"""Rows every kind of drill builds through the services: its owner, campaign, live page
and schedule, plus the one counting helper the publishing and e-mail drills share."""

from __future__ import annotations

import datetime
import uuid


def drill_owner():
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(
        username="drill", defaults={"email": "drill@example.com"}
    )
    return user


def drill_campaign(name: str):
    from campaigns.models import Campaign

    today = datetime.date.today()
    return Campaign.objects.create(
        name=name,
        slug=f"{name}-{uuid.uuid4().hex[:6]}",
        owner=drill_owner(),
        start_date=today - datetime.timedelta(days=1),
        end_date=today + datetime.timedelta(days=2),
        status=Campaign.Status.APPROVED,
    )


def live_page():
    """An approved page for the drill's publications: the site's HomePage, created (and
    published, so it has a live revision) on first use. The page Wagtail's own
    migration creates is live but has no revision, so scheduling refuses it as not
    approved."""
    from wagtail.models import Page

    from content.models import HomePage

    home = HomePage.objects.filter(live=True, live_revision__isnull=False).first()
    if home is None:
        home = HomePage(title="Drill home", slug=f"drill-home-{uuid.uuid4().hex[:6]}")
        Page.get_first_root_node().add_child(instance=home)
        home.save_revision().publish()
    return home


def schedule_spread(publications, first_due: datetime.datetime, spread_s: float):
    """Schedule `publications` evenly over `spread_s` seconds from `first_due`."""
    from campaigns.services import schedule_publication

    n = len(publications)
    for i, pub in enumerate(publications):
        schedule_publication(pub, first_due + datetime.timedelta(seconds=spread_s * i / max(n, 1)))


def count_present(counts, keys) -> int:
    """How many of `keys` appear in `counts` (one snapshot of the sink or the channel).
    Taking a snapshot per key instead re-read the sink's whole log for every recipient:
    seconds per check on a slow machine, so the fault landed late or after the send."""
    return sum(1 for key in keys if counts[key])
