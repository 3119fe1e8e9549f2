from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .crypto import EncryptedJSONField
from .registry import kind_choices


class ChannelAccount(models.Model):
    """One place we can publish to: a WordPress site, a Discourse forum, an SMTP sender.

    `settings` holds non-secret configuration (base URL, category, from address);
    `secrets` holds credentials and tokens, encrypted at rest and never shown back.
    """

    kind = models.CharField(_("channel"), max_length=40, choices=kind_choices())
    name = models.CharField(_("name"), max_length=120, unique=True)
    settings = models.JSONField(_("settings"), default=dict, blank=True)
    secrets = EncryptedJSONField(_("secrets"), blank=True, default=dict, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    is_internal = models.BooleanField(
        _("internal network"),
        default=False,
        help_text=_(
            "Allow this account to reach private or loopback addresses. Only for "
            "services inside your own network; off protects against SSRF."
        ),
    )
    rate_limit_per_minute = models.PositiveIntegerField(
        _("rate limit per minute"),
        default=30,
        help_text=_("Publications sent to this account at most per minute."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("channel account")
        verbose_name_plural = _("channel accounts")
        ordering = ["kind", "name"]

    def __str__(self):
        return f"{self.name} ({self.get_kind_display()})"

    @property
    def channel(self) -> str:
        """The channel family used for UTM source and reporting: blog, forum, email…"""
        return self.kind.split("/", 1)[0]

    def get_adapter(self):
        from .registry import get_adapter

        return get_adapter(self)


class ManualPlacementTask(models.Model):
    """A placement a marketer makes by hand (Q&A sites, Zhihu, WeChat, paid ads).

    Created by the manual-placement adapter when the publication falls due; it carries
    the adapted copy with its tracked links ready to paste. The marketer marks it done
    with the public URL, or skips it with a reason (channels.manual.services).
    """

    class Status(models.TextChoices):
        OPEN = "open", _("To do")
        DONE = "done", _("Done")
        SKIPPED = "skipped", _("Skipped")

    publication = models.OneToOneField(
        "campaigns.Publication",
        verbose_name=_("publication"),
        on_delete=models.CASCADE,
        related_name="manual_task",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="manual_placement_tasks",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    title = models.CharField(_("title"), max_length=300)
    body_html = models.TextField(_("copy (HTML)"), blank=True)
    body_markdown = models.TextField(_("copy (Markdown)"), blank=True)
    body_text = models.TextField(_("copy (plain text)"), blank=True)
    links = models.JSONField(_("tracked links"), default=list, blank=True)
    instructions = models.TextField(_("instructions"), blank=True)
    due_at = models.DateTimeField(_("due at"))
    overdue_at = models.DateTimeField(_("overdue after"), db_index=True)
    public_url = models.URLField(_("public URL"), max_length=1000, blank=True)
    skip_reason = models.TextField(_("reason for skipping"), blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("manual placement task")
        verbose_name_plural = _("manual placement tasks")
        ordering = ["due_at", "pk"]

    def __str__(self):
        return self.title

    @property
    def is_overdue(self) -> bool:
        return self.status == self.Status.OPEN and timezone.now() >= self.overdue_at


class FeedVerification(models.Model):
    """Checks that a post published to an external blog shows up in the blog's feed.

    Created when a publication on an account with `verify_feed_url` is published;
    `channels.verification.verify_published_posts` moves it to verified, or to missing
    (and tells the campaign owner) once `deadline` passes without the post in the feed.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        VERIFIED = "verified", _("Verified")
        MISSING = "missing", _("Missing from the feed")

    publication = models.OneToOneField(
        "campaigns.Publication",
        verbose_name=_("publication"),
        on_delete=models.CASCADE,
        related_name="feed_verification",
    )
    feed_url = models.URLField(_("feed URL"), max_length=1000)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    deadline = models.DateTimeField(_("deadline"))
    checked_at = models.DateTimeField(_("last checked at"), null=True, blank=True)
    detail = models.TextField(_("detail"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("feed verification")
        verbose_name_plural = _("feed verifications")
        ordering = ["deadline", "pk"]

    def __str__(self):
        return f"{self.publication_id}: {self.get_status_display()}"
