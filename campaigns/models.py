"""Campaigns and the schedule (Publication). Status changes go through campaigns.services
only; views, tasks and hooks never assign `status` themselves."""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel
from wagtail.contrib.settings.models import BaseGenericSetting, register_setting

from . import recurrence
from .times import ZoneSelect

# The currencies a budget can be kept in; a campaign's costs are in its budget's currency.
CURRENCIES = [
    ("CNY", _("Chinese yuan (CNY)")),
    ("HKD", _("Hong Kong dollar (HKD)")),
    ("USD", _("US dollar (USD)")),
    ("EUR", _("Euro (EUR)")),
    ("GBP", _("Pound sterling (GBP)")),
    ("JPY", _("Japanese yen (JPY)")),
    ("SGD", _("Singapore dollar (SGD)")),
]
DEFAULT_CURRENCY = "CNY"


def money_field(verbose_name, help_text):
    """An optional amount of money, never negative; empty = not entered."""
    return models.DecimalField(
        verbose_name,
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text=help_text,
    )


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        AWAITING_APPROVAL = "awaiting_approval", _("Awaiting approval")
        APPROVED = "approved", _("Approved")
        RUNNING = "running", _("Running")
        PAUSED = "paused", _("Paused")
        FINISHED = "finished", _("Finished")
        CANCELLED = "cancelled", _("Cancelled")

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(
        _("slug"),
        max_length=100,
        unique=True,
        allow_unicode=False,
        help_text=_("Used as utm_campaign in every tracked link."),
    )
    goal = models.CharField(_("goal"), max_length=300, blank=True)
    description = models.TextField(_("description"), blank=True)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="owned_campaigns",
    )
    target_keyphrases = models.TextField(
        _("target keyphrases"), blank=True, help_text=_("One keyphrase per line.")
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    budget = money_field(
        _("budget"),
        _("What the campaign may spend in all. Empty: no budget set."),
    )
    currency = models.CharField(
        _("currency"),
        max_length=3,
        choices=CURRENCIES,
        default=DEFAULT_CURRENCY,
        help_text=_("Of the budget and of every cost entered on its publications."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-start_date", "name"]
        permissions = [("approve_campaign", _("Can approve campaigns"))]

    def __str__(self):
        return self.name

    @property
    def keyphrase_list(self) -> list[str]:
        return [k.strip() for k in self.target_keyphrases.splitlines() if k.strip()]

    def clean(self):
        super().clean()
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValidationError(
                {"end_date": _("The end date must not be before the start date.")}
            )

    @property
    def is_approved(self) -> bool:
        return self.status in (self.Status.APPROVED, self.Status.RUNNING)


class Publication(models.Model):
    """One piece of content x one channel account x one time."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        QUEUED = "queued", _("Queued")
        PUBLISHING = "publishing", _("Publishing")
        PUBLISHED = "published", _("Published")
        FAILED = "failed", _("Failed")
        UNKNOWN = "unknown", _("Outcome unknown")
        PAUSED = "paused", _("Paused")
        CANCELLED = "cancelled", _("Cancelled")

    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="publications"
    )
    page = models.ForeignKey(
        "wagtailcore.Page",
        verbose_name=_("content"),
        on_delete=models.PROTECT,
        related_name="publications",
    )
    channel_account = models.ForeignKey(
        "channels.ChannelAccount",
        verbose_name=_("channel account"),
        on_delete=models.PROTECT,
        related_name="publications",
    )
    publish_at = models.DateTimeField(_("publish at"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT
    )
    # When the dispatcher should next act on this row: publish_at for the first attempt,
    # later for a retry after a transient error. NULL = nothing to do (not claimable).
    due_at = models.DateTimeField(_("due at"), null=True, blank=True, editable=False)
    queued_at = models.DateTimeField(null=True, blank=True, editable=False)
    started_at = models.DateTimeField(null=True, blank=True, editable=False)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True, editable=False)
    # A pause or cancel that arrived while an attempt was in flight; applied when the
    # attempt ends (an external call cannot be taken back half way).
    pending_action = models.CharField(max_length=10, blank=True, editable=False)
    # True while the outcome of an earlier attempt is not known: the next attempt must
    # ask the channel (find_existing) before posting again.
    needs_lookup = models.BooleanField(default=False, editable=False)
    # Set by the claiming dispatcher so it can read back exactly the rows it won.
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    # The content was edited after scheduling; rescheduled automatically once approved.
    held_for_reapproval = models.BooleanField(default=False, editable=False)

    # Recurrence: an RFC 5545 RRULE evaluated in `timezone` (wall-clock time), so
    # "every Monday 09:00 Asia/Shanghai" stays 09:00 there whatever other zones do.
    timezone = models.CharField(
        _("time zone"),
        max_length=64,
        default="UTC",
        help_text=_("IANA time zone the recurrence rule is evaluated in, e.g. Asia/Shanghai."),
    )
    recurrence = models.CharField(
        _("recurrence rule"),
        max_length=500,
        blank=True,
        help_text=_(
            "Optional RRULE, e.g. FREQ=WEEKLY;BYDAY=MO for every Monday at the time of the "
            "first publication. Each occurrence becomes its own publication."
        ),
    )
    series = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="occurrences",
        editable=False,
        help_text=_("The first publication of a recurring series."),
    )
    # Our idempotency key: adapters store it remotely so find_existing can look it up.
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    # Per-channel overrides; empty means "use the content's own".
    title_override = models.CharField(_("title"), max_length=300, blank=True)
    excerpt_override = models.TextField(_("excerpt"), blank=True)
    forum_category = models.CharField(_("forum category"), max_length=200, blank=True)
    tags = models.CharField(_("tags"), max_length=500, blank=True, help_text=_("Comma separated."))
    email_subject = models.CharField(_("email subject"), max_length=200, blank=True)
    email_preheader = models.CharField(_("email preheader"), max_length=200, blank=True)

    external_id = models.CharField(_("external id"), max_length=200, blank=True)
    public_url = models.URLField(_("public URL"), max_length=1000, blank=True)
    # What this placement costs (a paid ad slot, a sponsored post, a manual placement),
    # in the campaign's currency. Empty: no cost entered (not the same as free, 0).
    cost = money_field(
        _("cost"),
        _(
            "What this placement costs (paid slot, sponsored post), in the campaign's "
            "currency. Empty if it costs nothing you track."
        ),
    )
    attempt_count = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("publication")
        verbose_name_plural = _("publications")
        ordering = ["publish_at", "pk"]
        indexes = [
            # The dispatcher's query: due scheduled rows, oldest first.
            models.Index(fields=["status", "publish_at"], name="publication_due_idx"),
            # What the dispatcher actually scans: claimable rows by due time.
            models.Index(fields=["status", "due_at"], name="publication_dispatch_idx"),
            # Per-account rate limit: rows handed to workers in the last minute.
            models.Index(fields=["channel_account", "queued_at"], name="publication_rate_idx"),
        ]
        constraints = [
            # One row per occurrence of a recurring series, even if two workers race to
            # create the next one.
            models.UniqueConstraint(
                fields=["series", "publish_at"], name="publication_one_per_occurrence"
            ),
        ]

    def __str__(self):
        return f"{self.page} → {self.channel_account} @ {self.publish_at}"

    @property
    def tag_list(self) -> list[str]:
        return [t.strip() for t in self.tags.split(",") if t.strip()]

    @property
    def is_recurring(self) -> bool:
        return bool(self.recurrence)

    @property
    def has_send_panel(self) -> bool:
        """Email and e-zine publications fan out to an audience: they have a send panel."""
        return self.channel_account.kind.split("/", 1)[0] in ("email", "ezine")

    @property
    def effective_title(self) -> str:
        return self.title_override or self.page.title

    def first_attempt_at(self):
        """When the first publish attempt of this publication started (its attempt
        event in PublicationEvent), or None before any attempt. The event is committed
        before the channel is called, so no post of ours on a channel can be older:
        adapters page their lookups (find_existing) back to this time, not further."""
        return (
            self.events.filter(is_attempt=True)
            .order_by("created_at", "pk")
            .values_list("created_at", flat=True)
            .first()
        )


class PublicationEvent(models.Model):
    """Audit log: every status transition and every publish attempt of a publication."""

    publication = models.ForeignKey(Publication, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)
    is_attempt = models.BooleanField(default=False)
    attempt_number = models.PositiveIntegerField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("publication event")
        verbose_name_plural = _("publication events")
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"{self.publication_id}: {self.from_status} -> {self.to_status}"


class Notification(models.Model):
    """Something a user must see on their next admin visit (e.g. a failed publication
    of a campaign they own). Shown once as an admin message, listed until read."""

    class Level(models.TextChoices):
        INFO = "info", _("Information")
        WARNING = "warning", _("Warning")
        ERROR = "error", _("Error")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="campaign_notifications"
    )
    level = models.CharField(max_length=10, choices=Level.choices, default=Level.INFO)
    message = models.TextField()
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    publication = models.ForeignKey(
        Publication, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    shown_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "shown_at"], name="notification_unshown_idx")]

    def __str__(self):
        return self.message[:80]


def default_team_time_zone() -> str:
    return settings.TIME_ZONE


@register_setting(icon="time")
class TeamSettings(BaseGenericSetting):
    """Settings shared by the whole team (Settings > Team settings). The time zone is
    where times are read when nobody chose another: new users start with it, and new
    publications are scheduled in it."""

    time_zone = models.CharField(
        _("team time zone"),
        max_length=64,
        default=default_team_time_zone,
        help_text=_("New users and new publications start in this time zone, e.g. Asia/Shanghai."),
    )

    # The choices are set on the widget, not the field: ~600 zone names in a
    # migration would change whenever the zone database does.
    panels = [FieldPanel("time_zone", widget=ZoneSelect)]

    class Meta:
        verbose_name = _("Team settings")
        verbose_name_plural = _("Team settings")

    def clean(self):
        super().clean()
        try:
            recurrence.get_zone(self.time_zone)
        except ValidationError as exc:
            raise ValidationError({"time_zone": exc.messages}) from None
