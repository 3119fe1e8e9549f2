"""Campaigns and the schedule (Publication). Status changes go through campaigns.services
only; views, tasks and hooks never assign `status` themselves."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


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
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("campaign")
        ordering = ["-start_date", "name"]
        permissions = [("approve_campaign", _("Can approve campaigns"))]

    def __str__(self):
        return self.name

    @property
    def keyphrase_list(self) -> list[str]:
        return [k.strip() for k in self.target_keyphrases.splitlines() if k.strip()]


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
    attempt_count = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("publication")
        ordering = ["publish_at", "pk"]
        indexes = [
            # The dispatcher's query: due scheduled rows, oldest first.
            models.Index(fields=["status", "publish_at"], name="publication_due_idx"),
        ]

    def __str__(self):
        return f"{self.page} → {self.channel_account} @ {self.publish_at}"

    @property
    def tag_list(self) -> list[str]:
        return [t.strip() for t in self.tags.split(",") if t.strip()]


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
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("publication event")
        ordering = ["created_at", "pk"]
