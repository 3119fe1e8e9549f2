"""Audiences: subscribers, lists, segments, consent and the suppression list.

Consent lives on the Subscription (one per subscriber x list): when, how, the exact form
text shown and a hash of the source IP (never the IP itself). The Suppression list is
global and checked at every send: an address on it is never mailed again.

How the audience columns are stored (bulk SQL writers, such as COPY imports, rely on it):

- `Subscriber.tags`: the normalised tags (normalise_tags: stripped, lower case, unique,
  sorted). PostgreSQL: `text[]` with a GIN index (`audiences_subscriber_tags_gin`);
  SQLite: a JSON list as text, '[]' when none. Write them as such; never NULL.
- `Subscriber.list_ids`: the ids of the lists the subscriber is *subscribed* to (status
  "subscribed"), sorted. PostgreSQL: `integer[]` with a GIN index; SQLite: JSON text.
  Database triggers on the subscription table keep it (insert, update, delete, COPY
  included): writers write Subscription rows and the trigger sets list_ids. A bulk
  writer creating new subscribers may write the list_ids they are about to get (the
  trigger then finds nothing to change and skips rewriting those rows, the costly part
  of a membership change); a wrong value is corrected by the trigger all the same.
- `Subscriber.suppressed`: whether the address is on the Suppression list (case-
  insensitive). Triggers keep it too: on suppression insert/update/delete, and on a
  subscriber's insert or email change. Writers leave it to the triggers.
- `Subscriber.attributes`: jsonb with a GIN jsonb_path_ops index on PostgreSQL (segment
  conditions use `attributes @> {"city": "上海"}`); JSON text on SQLite.
- `Subscriber.last_engaged_at`: the latest human open or click; a trigger on
  analytics_event moves it for every open or click whose message key names the
  subscriber ("<publication>:s<id>"), so engagement conditions are an index range.

`triggers.reconcile()` recomputes list_ids and suppressed from the
tables they mirror, should a writer ever have disabled the triggers.
"""

from django.conf import settings
from django.db import models
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

from .addresses import validate_address
from .fields import ListField

LANGUAGE_CHOICES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]


def normalise_tags(tags) -> list[str]:
    """Tags as stored: stripped, lower case, unique and sorted. Accepts a list or a
    string separated by "," or ";" (as in CSV files)."""
    if isinstance(tags, str):
        tags = tags.replace(";", ",").split(",")
    return sorted({str(t).strip().lower() for t in tags or [] if t and str(t).strip()})


# Subscriber columns kept by database triggers (triggers.py), never written by the ORM.
TRIGGER_FIELDS = ("list_ids", "suppressed")


class Subscriber(models.Model):
    # Not EmailField: its validator refuses internationalised addresses (王芳@example.com).
    email = models.CharField(
        _("email address"), max_length=254, unique=True, validators=[validate_address]
    )
    name = models.CharField(_("name"), max_length=200, blank=True)
    language = models.CharField(
        _("language"), max_length=10, choices=LANGUAGE_CHOICES, default="en"
    )
    timezone = models.CharField(_("time zone"), max_length=64, default="UTC")
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    tags = ListField(_("tags"), editable=False)
    # Kept by database triggers (see the module docstring): never set these directly.
    list_ids = ListField(_("subscribed lists"), base="integer", editable=False)
    suppressed = models.BooleanField(_("suppressed"), default=False, editable=False)
    last_engaged_at = models.DateTimeField(
        _("last opened or clicked"), null=True, blank=True, db_index=True
    )
    # The last confirmation email sent to this address: one per
    # AUDIENCES_CONFIRMATION_PERIOD, however often the subscribe form is posted.
    confirmation_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("subscriber")
        verbose_name_plural = _("subscribers")
        ordering = ["email"]
        # The suppression triggers' upper(email) look-ups (triggers.py). On SQLite only:
        # on PostgreSQL migration 0012 drops it and the unique field's LIKE index, as
        # the upper(email) text_pattern_ops index of 0008 answers exact and prefix
        # look-ups alike and each index costs every insert (a third of an import's).
        indexes = [models.Index(Upper("email"), name="audiences_subscriber_upper")]

    def __str__(self):
        return self.email

    def save(self, *args, **kwargs):
        # list_ids and suppressed belong to the triggers: an instance loaded before they
        # changed must not write its stale copy back.
        if not self._state.adding and kwargs.get("update_fields") is None:
            if not kwargs.get("force_insert"):
                kwargs["update_fields"] = [
                    f.name
                    for f in self._meta.concrete_fields
                    if not f.primary_key and f.name not in TRIGGER_FIELDS
                ]
        elif kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = [
                f for f in kwargs["update_fields"] if f not in TRIGGER_FIELDS
            ]
        super().save(*args, **kwargs)

    @property
    def tag_list(self) -> list[str]:
        return list(self.tags or [])

    def set_tags(self, tags) -> None:
        self.tags = normalise_tags(tags)


class MailingList(models.Model):
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)
    is_public = models.BooleanField(
        _("public"),
        default=True,
        help_text=_("Offered on the subscribe form and in the preference centre."),
    )
    double_opt_in = models.BooleanField(
        _("double opt-in"),
        default=True,
        help_text=_("Form sign-ups must confirm by email before they are mailed."),
    )
    consent_text = models.TextField(
        _("consent text"),
        blank=True,
        help_text=_("Shown next to the subscribe button and stored with every consent."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Subscribed members as last counted by listing.refresh_list_counts (a periodic
    # task): the list index shows this and its time, never counting millions per view.
    subscriber_count = models.PositiveIntegerField(null=True, blank=True, editable=False)
    subscriber_count_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("mailing list")
        verbose_name_plural = _("mailing lists")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Subscription(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting confirmation")
        SUBSCRIBED = "subscribed", _("Subscribed")
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")

    class Method(models.TextChoices):
        FORM = "form", _("Subscribe form")
        IMPORT = "import", _("Import")
        API = "api", _("API")
        ADMIN = "admin", _("Added by staff")

    subscriber = models.ForeignKey(
        Subscriber, on_delete=models.CASCADE, related_name="subscriptions"
    )
    mailing_list = models.ForeignKey(
        MailingList, on_delete=models.CASCADE, related_name="subscriptions"
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    # The consent record.
    consent_at = models.DateTimeField(_("consent given at"))
    consent_method = models.CharField(_("consent method"), max_length=20, choices=Method.choices)
    consent_text = models.TextField(_("consent text shown"), blank=True)
    consent_basis = models.CharField(
        _("consent basis"),
        max_length=300,
        blank=True,
        help_text=_("For imports: where and how these people agreed to be mailed."),
    )
    source_ip_hash = models.CharField(_("source IP hash"), max_length=64, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    unsubscribed_at = models.DateTimeField(_("unsubscribed at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        constraints = [
            models.UniqueConstraint(
                fields=["subscriber", "mailing_list"], name="audiences_one_subscription"
            )
        ]
        indexes = [models.Index(fields=["mailing_list", "status"], name="audiences_list_status")]

    def __str__(self):
        return f"{self.subscriber} → {self.mailing_list} ({self.status})"


class Segment(models.Model):
    """A saved filter: the segment builder's rows, combined with AND or OR (see
    segments.py). Segments saved before the builder hold these keys instead, still
    read and combined with AND: lists: [list ids]; tags_any / tags_all: [tags];
    attributes: {key: value}; engagement: "engaged" | "never" | "lapsed" with `days`."""

    name = models.CharField(_("name"), max_length=200)
    mailing_list = models.ForeignKey(
        MailingList,
        verbose_name=_("mailing list"),
        on_delete=models.CASCADE,
        related_name="segments",
        help_text=_("Only subscribed members of this list are in the segment."),
    )
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Suppression(models.Model):
    """Addresses never mailed again, whatever list or segment they are in."""

    class Reason(models.TextChoices):
        HARD_BOUNCE = "hard_bounce", _("Hard bounce")
        COMPLAINT = "complaint", _("Spam complaint")
        UNSUBSCRIBE = "unsubscribe", _("Unsubscribed from everything")
        MANUAL = "manual", _("Added by staff")
        # The address is kept only as a keyed hash (erased.py): a person erased on request.
        ERASED = "erased", _("Erased on request")

    email = models.CharField(
        _("email address"), max_length=254, unique=True, validators=[validate_address]
    )
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    detail = models.TextField(_("detail"), blank=True)
    created_at = models.DateTimeField(_("suppressed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("suppressed address")
        verbose_name_plural = _("suppression list")
        ordering = ["-created_at"]
        # Audiences exclude suppressed addresses case-insensitively (email__iexact):
        # probed per subscriber, this index keeps that cheap on a long list.
        indexes = [models.Index(Upper("email"), name="audiences_suppression_upper")]

    def __str__(self):
        return f"{self.email} ({self.get_reason_display()})"


class ImportJob(models.Model):
    """A CSV import: checked in full first (the report), then, on the person's choice,
    its valid rows applied in one transaction."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        CHECKING = "checking", _("Checking the rows")
        CHECKED = "checked", _("Checked: waiting for your choice")
        RUNNING = "running", _("Importing")
        DONE = "done", _("Imported")
        FAILED = "failed", _("Failed")

    mailing_list = models.ForeignKey(MailingList, on_delete=models.CASCADE, related_name="+")
    file = models.BinaryField(editable=False)
    encoding = models.CharField(max_length=20, default="utf-8")
    mapping = models.JSONField(default=dict)
    consent_basis = models.CharField(max_length=300)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    imported_rows = models.PositiveIntegerField(default=0)
    valid_rows = models.PositiveIntegerField(default=0)
    rejected_rows = models.PositiveIntegerField(default=0)
    skipped_rows = models.PositiveIntegerField(default=0)
    # The file's own column titles, for the report; errors holds the first problem rows.
    header = models.JSONField(default=list, blank=True)
    errors = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # When the current step (checking, importing) began: a step running far longer than
    # any worker may lost its worker (importing.sweep_stale_imports).
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("subscriber import")
        verbose_name_plural = _("subscriber imports")
        ordering = ["-created_at"]


class AudienceChange(models.Model):
    """One change of a person's lists, tags or suppression, written by the service that
    made it (changes.py; never by a database trigger): the history the Subscription row
    alone loses (a re-subscription overwrites the earlier consent). `detail` holds
    tags, the consent method, the consent text shown and the source ("admin", "form",
    "import", "landing page", "preferences", "api") with the import's id; never an
    address or other contact datum. Deleted with the subscriber (CASCADE)."""

    class Kind(models.TextChoices):
        SUBSCRIBED = "subscribed", _("Subscribed")
        CONFIRMED = "confirmed", _("Confirmed")
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
        RESUBSCRIBED = "resubscribed", _("Subscribed again")
        TAGS_ADDED = "tags_added", _("Tags added")
        TAGS_REMOVED = "tags_removed", _("Tags removed")
        SUPPRESSED = "suppressed", _("Suppressed")
        UNSUPPRESSED = "unsuppressed", _("No longer suppressed")

    # No database constraints (the ORM still cascades and nulls): an import writes a
    # row per person, and the deferred key checks of a million rows cost seconds at
    # commit. The person's index is audiences_change_person.
    subscriber = models.ForeignKey(
        Subscriber,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    at = models.DateTimeField(_("at"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    mailing_list = models.ForeignKey(
        MailingList,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )

    class Meta:
        verbose_name = _("audience change")
        verbose_name_plural = _("audience changes")
        indexes = [
            models.Index(
                "subscriber",
                models.F("at").desc(),
                models.F("id").desc(),
                name="audiences_change_person",
            )
        ]

    def __str__(self):
        return f"{self.subscriber_id} {self.kind} {self.at:%Y-%m-%d %H:%M}"
