"""An analytics connection (Google Search Console or Baidu Tongji) and the search
queries imported through it, per day and page.

Imported through analytics.search.importing; read by the campaign dashboard's SEO
section (analytics.seo_dashboard). The models live in the analytics app (imported by
analytics.models).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from channels.crypto import EncryptedJSONField


class SearchConnection(models.Model):
    class Kind(models.TextChoices):
        GOOGLE = "google", _("Google Search Console")
        BAIDU = "baidu", _("Baidu Tongji")

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("service"), max_length=20, choices=Kind.choices)
    site = models.CharField(
        _("site"),
        max_length=300,
        help_text=_(
            "Google: the Search Console property exactly as it is listed there "
            "(https://www.example.com/ or sc-domain:example.com). Baidu: the site id "
            "(site_id) from Tongji."
        ),
    )
    is_active = models.BooleanField(_("import every day"), default=True)
    backfill_days = models.PositiveSmallIntegerField(
        _("days imported each time"),
        default=5,
        help_text=_(
            "Each import reads this many days up to yesterday again (Search Console "
            "completes a day's figures two to three days late)."
        ),
    )
    api_url = models.URLField(
        _("API address"),
        blank=True,
        help_text=_("Leave empty for the service's own address."),
    )
    token_url = models.URLField(
        _("token address"),
        blank=True,
        help_text=_("Leave empty for the service's own address."),
    )
    is_internal = models.BooleanField(
        _("internal network"),
        default=False,
        help_text=_("Allow the addresses above to be on a private network (a proxy or a test)."),
    )
    # Credentials and tokens: client secret, refresh token, service account key, access
    # token. Encrypted at rest, never shown back (analytics.search.forms).
    secrets = EncryptedJSONField(_("secrets"), blank=True, default=dict, editable=False)
    last_run_at = models.DateTimeField(_("last import"), null=True, blank=True, editable=False)
    last_success_at = models.DateTimeField(
        _("last successful import"), null=True, blank=True, editable=False
    )
    last_error = models.TextField(_("last error"), blank=True, editable=False)
    last_rows = models.PositiveIntegerField(_("rows last imported"), default=0, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "analytics"
        verbose_name = _("analytics connection")
        verbose_name_plural = _("analytics connections")
        ordering = ["name", "pk"]

    def __str__(self):
        return self.name


class ImportedSearchQuery(models.Model):
    """One search query that led to one page on one day, as the engine reports it.
    `page_id` is the hub page whose URL the engine named (0: no live page has that URL,
    or the engine reports the query for the whole site, as Baidu's search words do)."""

    connection = models.ForeignKey(
        SearchConnection, on_delete=models.CASCADE, related_name="queries"
    )
    engine = models.CharField(max_length=20)
    day = models.DateField()
    page_id = models.BigIntegerField(default=0)
    page_url = models.CharField(max_length=1000, blank=True)
    query = models.CharField(max_length=300)
    clicks = models.BigIntegerField(default=0)
    impressions = models.BigIntegerField(null=True, blank=True)
    # Average position in the results (1 = top); Baidu reports none.
    position = models.FloatField(null=True, blank=True)

    class Meta:
        app_label = "analytics"
        indexes = [
            models.Index(fields=["page_id", "day"], name="imported_query_page_idx"),
            models.Index(fields=["connection", "day"], name="imported_query_conn_idx"),
        ]
