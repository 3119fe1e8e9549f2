"""The customer record's own tables: staff notes on a person, key accounts, and the
log of personal-data requests.

A key account is one person (subscriber) or a company: every person whose
`attributes["company"]` matches it, case-insensitively (`company_key`)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


def company_key(company: str) -> str:
    """How a company name is compared: stripped, upper case (UPPER in SQL)."""
    return " ".join(str(company or "").split()).upper()


class Note(models.Model):
    subscriber = models.ForeignKey(
        "audiences.Subscriber",
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    text = models.TextField(_("note"))
    created_at = models.DateTimeField(_("written at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("note")
        verbose_name_plural = _("notes")
        indexes = [
            models.Index(fields=["subscriber", "-created_at", "-id"], name="people_note_time")
        ]
        permissions = [("view_person", _("Can see people's records (the person page)"))]

    def __str__(self):
        return self.text[:50]


class KeyAccount(models.Model):
    subscriber = models.OneToOneField(
        "audiences.Subscriber",
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    # Upper case (company_key); blank for a person's own key account.
    company = models.CharField(_("company"), max_length=200, blank=True, db_index=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("key account")
        verbose_name_plural = _("key accounts")
        constraints = [
            models.UniqueConstraint(
                fields=["company"], condition=~models.Q(company=""), name="people_key_company"
            ),
            models.CheckConstraint(
                condition=models.Q(subscriber__isnull=False) | ~models.Q(company=""),
                name="people_key_account_names_someone",
            ),
        ]

    def __str__(self):
        return self.company or str(self.subscriber or "")

    def save(self, *args, **kwargs):
        self.company = company_key(self.company)
        super().save(*args, **kwargs)

    def clean(self):
        self.company = company_key(self.company)
        if not self.company and self.subscriber_id is None:
            raise ValidationError(
                {"company": _("Name the company (or mark a person from their page).")}
            )


# DataRightsRequest: the log of personal-data requests carried out (an export, an
# erasure): who, when, which action, and the person only as the keyed hash of their
# address (campaigns/audiences/erased.py), never the address itself, so the log
# outlives an erasure without undoing it.
class DataRightsRequest(models.Model):
    class Action(models.TextChoices):
        EXPORT_JSON = "export_json", _("Export (JSON)")
        EXPORT_CSV = "export_csv", _("Export (CSV)")
        ERASE = "erase", _("Erasure")

    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    # The subscriber's id at the time (gone after an erasure) and their address's key.
    subscriber_id = models.BigIntegerField(_("subscriber id"), null=True, blank=True)
    person_key = models.CharField(_("person (hash of the address)"), max_length=80, db_index=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("carried out by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Rows per table exported or erased: {"<table>": n}.
    counts = models.JSONField(_("rows per table"), default=dict, blank=True)
    created_at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("personal data request")
        verbose_name_plural = _("personal data requests")
        ordering = ["-created_at"]
        default_permissions = ("view",)
        permissions = [
            ("export_personal_data", _("Can export a person's data")),
            ("erase_personal_data", _("Can erase a person's data")),
        ]

    def __str__(self):
        return f"{self.get_action_display()} {self.person_key[:15]}"
