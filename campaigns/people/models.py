"""The customer record's own tables: staff notes on a person and key accounts.

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
