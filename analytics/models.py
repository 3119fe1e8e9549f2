"""Tracked links, raw events, rollups and stored SEO analyses.

Raw events are written by the queue drainer (analytics.draining.drain_event_queue) or,
on the embedded default without Redis, straight by the views. Dashboards read the
rollup tables only; the rollup columns are plain integers (0 = "none") rather than
nullable foreign keys so they can sit in one unique key (NULLs are distinct in SQL).
"""

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .metrics import COUNTERS


class TrackedLink(models.Model):
    """One outbound destination for one (publication or campaign, content, channel).

    `destination` is the URL with UTM parameters merged in and is never changed after
    creation: the redirect may cache it forever.
    """

    code = models.CharField(_("code"), max_length=32, unique=True, editable=False)
    # sha256 of the identity (publication, campaign, page, channel, medium, url), so
    # asking twice for the same link returns the same row even under concurrency.
    link_key = models.CharField(max_length=64, unique=True, editable=False)
    original_url = models.URLField(_("destination"), max_length=2000)
    destination = models.URLField(_("destination with UTM"), max_length=2400, editable=False)
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        verbose_name=_("campaign"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="tracked_links",
    )
    publication = models.ForeignKey(
        "campaigns.Publication",
        verbose_name=_("publication"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="tracked_links",
    )
    page = models.ForeignKey(
        "wagtailcore.Page",
        verbose_name=_("content"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    channel = models.CharField(_("channel"), max_length=40, blank=True)
    medium = models.CharField(_("medium"), max_length=40, blank=True)
    label = models.CharField(
        _("label"), max_length=200, blank=True, help_text=_("Where this link is placed.")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("tracked link")
        verbose_name_plural = _("tracked links")
        ordering = ["-created_at", "-pk"]
        permissions = [("view_dashboard", _("Can view campaign dashboards"))]

    def __str__(self):
        return self.label or self.original_url

    @property
    def short_url(self) -> str:
        return f"{settings.SITE_BASE_URL.rstrip('/')}/t/{self.code}"


class Event(models.Model):
    """One raw event. Dimensions are denormalised integers copied from the link or the
    publication when the event is stored, so rollups need no joins."""

    class Kind(models.TextChoices):
        CLICK = "click", _("Click")
        OPEN = "open", _("Open")
        PAGEVIEW = "pageview", _("Page view")
        SEND = "send", _("Send")
        DELIVERY = "delivery", _("Delivery")
        BOUNCE = "bounce", _("Bounce")
        COMPLAINT = "complaint", _("Complaint")
        UNSUBSCRIBE = "unsubscribe", _("Unsubscribe")
        CONVERSION = "conversion", _("Conversion")

    # Producer-assigned id: draining the same queued event twice inserts it once.
    uid = models.CharField(max_length=32, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    campaign_id = models.BigIntegerField(default=0)
    channel = models.CharField(max_length=40, blank=True)
    publication_id = models.BigIntegerField(default=0)
    page_id = models.BigIntegerField(default=0)
    link_id = models.BigIntegerField(default=0)
    message_key = models.CharField(max_length=200, blank=True)
    visitor_hash = models.CharField(max_length=32, blank=True)
    is_bot = models.BooleanField(default=False)
    bot_reason = models.CharField(max_length=40, blank=True)
    # First human click of this recipient (or visitor that day) on this link, first open
    # of this recipient, first page view of this page by this visitor that day.
    is_unique = models.BooleanField(default=False)
    # First event of its kind for this recipient of this publication, counted against
    # its denominator (analytics.metrics explains; analytics.events._mark_first sets it).
    # db_default too: bulk loads that name their columns (bench) may leave it out.
    is_first = models.BooleanField(default=False, db_default=False)
    # First open of a delivered recipient, or their first click where no open came
    # before it (a click shows the message was opened, pixel blocked or not).
    is_first_open = models.BooleanField(default=False, db_default=False)
    referrer_class = models.CharField(max_length=16, blank=True)
    search_engine = models.CharField(max_length=20, blank=True)
    search_query = models.CharField(max_length=200, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    # Conversions only (analytics.conversion_store): the goal reached, its value in
    # hundredths of the currency unit, the currency as sent, the order id that makes a
    # goal count once per order, and the clicks that led to it (their uids, oldest
    # first, space-separated). A conversion's campaign is its goal's; its channel,
    # publication, page and link are those of its last human click, and its
    # message_key is "click:<that click's uid>" (is_first: the first conversion of that
    # click, the conversion rate's numerator).
    goal_id = models.BigIntegerField(default=0, db_default=0)
    value_cents = models.BigIntegerField(default=0, db_default=0)
    currency = models.CharField(max_length=3, blank=True, default="", db_default="")
    order_id = models.CharField(max_length=100, blank=True, default="", db_default="")
    click_ids = models.CharField(max_length=400, blank=True, default="", db_default="")
    # The subscriber the event is about (0: none): the id in a message key
    # "<publication>:s<id>", and for a conversion that of its last click. Set once when
    # the event is stored (events.store_events); the person's timeline reads it by the
    # partial index below, which holds only the rows that name someone.
    subscriber_id = models.BigIntegerField(default=0, db_default=0)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        indexes = [
            models.Index(fields=["occurred_at"], name="event_occurred_idx"),
            models.Index(fields=["message_key", "kind"], name="event_message_idx"),
            models.Index(fields=["visitor_hash", "link_id", "kind"], name="event_visitor_idx"),
            models.Index(
                fields=["subscriber_id", "-occurred_at", "-id"],
                name="event_subscriber_idx",
                condition=~models.Q(subscriber_id=0),
            ),
        ]
        constraints = [
            # An order counts once per goal however often it is posted: the database
            # refuses the second row (insert_events skips it), no check-then-insert.
            models.UniqueConstraint(
                fields=["goal_id", "order_id"],
                condition=models.Q(kind="conversion") & ~models.Q(order_id=""),
                name="conversion_order_once",
            )
        ]


class Goal(models.Model):
    """What a campaign wants its readers to do: submit a form on a landing page, reach
    a hub page, or something on the company's own site (an order), reported by the
    script or pixel at /c/<key>. Each time it happens is a conversion event."""

    class Kind(models.TextChoices):
        FORM = "form", _("Form submitted")
        PAGE = "page", _("Hub page reached")
        EXTERNAL = "external", _("External (your own site)")

    campaign = models.ForeignKey(
        "campaigns.Campaign",
        verbose_name=_("campaign"),
        on_delete=models.CASCADE,
        related_name="goals",
    )
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.EXTERNAL)
    page = models.ForeignKey(
        "wagtailcore.Page",
        verbose_name=_("page"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The landing page whose form, or the hub page whose visit, converts."),
    )
    # The public name of the goal in /c/<key>: not its id, so goals cannot be counted
    # or guessed from the outside.
    key = models.CharField(max_length=24, unique=True, editable=False)
    target_count = models.PositiveIntegerField(_("target conversions"), null=True, blank=True)
    target_value = models.DecimalField(
        _("target value"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    currency = models.CharField(
        _("currency"),
        max_length=3,
        blank=True,
        help_text=_(
            "ISO code (CNY, USD, EUR). Values sent in another currency are counted as "
            "conversions without a value."
        ),
    )
    # Where the external goal's script runs: tracked links to these hosts (or their
    # subdomains) carry the click id; no other site ever receives it (a partner or a
    # pre-signed download link would otherwise get, or break on, an extra parameter).
    site_hosts = models.CharField(
        _("your site's addresses"),
        max_length=500,
        blank=True,
        help_text=_(
            "For an external goal: the host names of your site where its script runs, "
            "such as shop.example.com, separated by spaces. Tracked links to these sites "
            "(and their subdomains) carry the click id; other sites never receive it."
        ),
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("goal")
        verbose_name_plural = _("goals")
        ordering = ["campaign_id", "pk"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if not self.key:
            self.key = secrets.token_urlsafe(12)
        if not self.currency:
            self.currency = settings.ANALYTICS_CURRENCY
        self.currency = self.currency.upper()
        super().save(*args, **kwargs)


class ConversionCredit(models.Model):
    """What one conversion credits to one touch point (channel, publication, page and
    link of the clicks that led to it), under each attribution model, written by the
    rollup when it counts the conversion (analytics.attribution). A conversion with no
    click in the window has one row with no channel. Each model's weights of one
    conversion add up to 1, so summing a campaign's rows gives its conversions."""

    conversion_id = models.BigIntegerField()
    day = models.DateField()
    campaign_id = models.BigIntegerField()
    goal_id = models.BigIntegerField()
    channel = models.CharField(max_length=40, blank=True)
    publication_id = models.BigIntegerField(default=0)
    page_id = models.BigIntegerField(default=0)
    link_id = models.BigIntegerField(default=0)
    first_touch = models.FloatField(default=0)
    last_touch = models.FloatField(default=0)
    linear = models.FloatField(default=0)
    value_cents = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["conversion_id", "channel", "publication_id", "page_id", "link_id"],
                name="conversion_credit_key",
            )
        ]
        indexes = [models.Index(fields=["campaign_id", "day"], name="conversion_credit_idx")]


class DailySalt(models.Model):
    """A random salt per day for hashing IP addresses. Old salts are deleted, after
    which yesterday's visitor hashes can no longer be linked to an address."""

    day = models.DateField(primary_key=True)
    salt = models.CharField(max_length=64)


class RollupState(models.Model):
    """Watermark of the incremental rollup: every event with id <= last_event_id is
    counted in the rollup tables, and none above it is."""

    name = models.CharField(max_length=40, primary_key=True)
    last_event_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)


class Metrics(models.Model):
    """The counters every rollup table keeps: one integer column per counter declared in
    analytics.metrics (added to the class below, so the list is written only there)."""

    class Meta:
        abstract = True


for _counter in COUNTERS:
    Metrics.add_to_class(_counter.name, models.BigIntegerField(default=0))
del _counter


class RollupMetrics(Metrics):
    campaign_id = models.BigIntegerField(default=0)
    channel = models.CharField(max_length=40, blank=True)
    publication_id = models.BigIntegerField(default=0)
    link_id = models.BigIntegerField(default=0)
    page_id = models.BigIntegerField(default=0)

    class Meta:
        abstract = True


class HourlyRollup(RollupMetrics):
    hour = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "campaign_id", "channel", "publication_id", "link_id", "page_id"],
                name="hourly_rollup_key",
            )
        ]
        indexes = [models.Index(fields=["campaign_id", "hour"], name="hourly_campaign_idx")]


class DailyRollup(RollupMetrics):
    day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "campaign_id", "channel", "publication_id", "link_id", "page_id"],
                name="daily_rollup_key",
            )
        ]
        indexes = [
            models.Index(fields=["campaign_id", "day"], name="daily_campaign_idx"),
            models.Index(fields=["day"], name="daily_day_idx"),
            models.Index(fields=["page_id", "day"], name="daily_page_idx"),
        ]


class CampaignDailyRollup(Metrics):
    """Per day, campaign and channel only. The leadership overview compares every
    campaign over a period; summing this table reads one row per campaign, channel and
    day instead of one per link and page (500 campaigns x 90 days: ~45,000 rows, not
    hundreds of thousands)."""

    day = models.DateField()
    campaign_id = models.BigIntegerField(default=0)
    channel = models.CharField(max_length=40, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "campaign_id", "channel"], name="campaign_daily_rollup_key"
            )
        ]
        # A campaign's dashboard reads its own rows over its dates (analytics.dashboards).
        indexes = [models.Index(fields=["campaign_id", "day"], name="campaign_daily_campaign_idx")]


class SearchQueryDaily(models.Model):
    """Organic search visits per page, engine and query (when the referrer carried one)."""

    day = models.DateField()
    page_id = models.BigIntegerField()
    engine = models.CharField(max_length=20)
    query = models.CharField(max_length=200)
    visits = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "page_id", "engine", "query"], name="search_query_daily_key"
            )
        ]
        indexes = [models.Index(fields=["page_id", "day"], name="search_query_page_idx")]


class SeoAnalysis(models.Model):
    """The SEO score of one page revision, so dashboards can show its trend."""

    page = models.ForeignKey(
        "wagtailcore.Page", on_delete=models.CASCADE, related_name="seo_analyses"
    )
    revision = models.ForeignKey(
        "wagtailcore.Revision", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    keyphrase = models.CharField(max_length=100, blank=True)
    language = models.CharField(max_length=10)
    score = models.PositiveSmallIntegerField()
    hints = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("SEO analysis")
        verbose_name_plural = _("SEO analyses")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["revision"], name="seo_analysis_per_revision")
        ]


# The analytics connections and what they import (analytics/search/models.py).
from .search.models import ImportedSearchQuery, SearchConnection  # noqa: E402, F401
