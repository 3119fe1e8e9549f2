"""The email fan-out: one EmailSend per publication, one Delivery per recipient.

The unique (publication, subscriber) constraint is what makes "exactly one message per
recipient" hold whatever runs twice: freezing the audience twice inserts nothing new,
and batches claim only pending rows under a row lock.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class EmailSend(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Not started")
        SENDING = "sending", _("Sending")
        PAUSED = "paused", _("Paused")
        CANCELLED = "cancelled", _("Cancelled")
        FINISHED = "finished", _("Finished")

    publication = models.OneToOneField(
        "campaigns.Publication", on_delete=models.CASCADE, related_name="email_send"
    )
    mailing_list = models.ForeignKey(
        "audiences.MailingList",
        verbose_name=_("mailing list"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    segment = models.ForeignKey(
        "audiences.Segment",
        verbose_name=_("segment"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT
    )

    # The issue as rendered once (premailer already applied, merge markers left in).
    class PauseReason(models.TextChoices):
        PERSON = "person", _("Paused by a person")
        CAMPAIGN = "campaign", _("Paused with its campaign")
        REFUSALS = "refusals", _("Paused: the mail server kept refusing")

    # Why a paused send is paused: resuming a campaign resumes only the sends its pause
    # paused, never one a person paused on its own.
    pause_reason = models.CharField(
        _("why paused"), max_length=20, choices=PauseReason.choices, blank=True
    )
    subject = models.CharField(max_length=300, blank=True)
    html = models.TextField(blank=True)
    text = models.TextField(blank=True)
    recipient_count = models.PositiveIntegerField(default=0)
    frozen_at = models.DateTimeField(_("audience frozen at"), null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("email send")
        verbose_name_plural = _("email sends")

    def __str__(self):
        return f"{self.publication} ({self.status})"


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Being sent")
        SENT = "sent", _("Sent")
        SKIPPED = "skipped", _("Skipped (unsubscribed or suppressed)")
        FAILED = "failed", _("Failed")

    # No database-level foreign keys (db_constraint=False): freezing an audience inserts
    # one row per recipient, and PostgreSQL checks each key with a row lock on the
    # subscriber (and on the publication): two thirds of the freeze's time (issue 19,
    # bench/audiences). Deleting a subscriber or a publication still deletes its rows:
    # Django's CASCADE runs in the ORM, not in the database. No index of its own on
    # publication either: the unique constraint and the claim index start with it.
    publication = models.ForeignKey(
        "campaigns.Publication",
        on_delete=models.CASCADE,
        related_name="deliveries",
        db_constraint=False,
        db_index=False,
    )
    subscriber = models.ForeignKey(
        "audiences.Subscriber",
        on_delete=models.CASCADE,
        related_name="deliveries",
        db_constraint=False,
    )
    email = models.EmailField(max_length=254)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    claim_token = models.CharField(max_length=32, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["publication", "subscriber"], name="email_one_delivery_per_recipient"
            )
        ]
        indexes = [
            # The batch claim: pending rows of one publication in id order.
            models.Index(fields=["publication", "status", "id"], name="email_delivery_claim_idx"),
        ]

    def __str__(self):
        return f"{self.email} ({self.status})"


class SeenWebhookToken(models.Model):
    """A signed webhook token already accepted (Mailgun's `token`): a second request
    with it is a replay. In the database, not a per-process cache, so every web process
    sees every other's tokens; the unique key makes "first one wins" atomic. Rows are
    deleted once `expires_at` passes (the signature's freshness window has closed)."""

    token = models.CharField(max_length=300, unique=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("seen webhook token")
        verbose_name_plural = _("seen webhook tokens")

    def __str__(self):
        return self.token
