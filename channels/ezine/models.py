"""E-zines: a cadence (RRULE), sections, partner feeds, and the log of each run.

An e-zine is a ClusterableModel and its partner feeds hang on a ParentalKey, so the
setup screen edits the e-zine and its feeds in one form (Wagtail's InlinePanel)."""

import datetime
import ipaddress
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey
from modelcluster.models import ClusterableModel

from campaigns import recurrence


def default_time_zone() -> str:
    return settings.TIME_ZONE


class EZine(ClusterableModel):
    page = models.OneToOneField(
        "content.EZinePage",
        verbose_name=_("e-zine page"),
        on_delete=models.CASCADE,
        related_name="ezine_settings",
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        verbose_name=_("campaign"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Issues are sent as publications of this campaign."),
    )
    channel_account = models.ForeignKey(
        "channels.ChannelAccount",
        verbose_name=_("sending account"),
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"kind": "ezine/email"},
    )
    mailing_list = models.ForeignKey(
        "audiences.MailingList", verbose_name=_("mailing list"), on_delete=models.PROTECT
    )
    cadence = models.CharField(
        _("cadence (RRULE)"),
        max_length=300,
        default="FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0",
        help_text=_("An iCalendar RRULE, e.g. FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0"),
    )
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        default=default_time_zone,
        help_text=_(
            "The cadence's hours are read in this zone (an IANA name such as Asia/Shanghai), "
            "summer time included."
        ),
    )
    section_tags = models.CharField(
        _("sections by tag"),
        max_length=500,
        blank=True,
        help_text=_("Comma separated publication tags; each becomes a section."),
    )
    section_campaigns = models.ManyToManyField(
        "campaigns.Campaign",
        verbose_name=_("sections by campaign"),
        blank=True,
        related_name="+",
    )
    is_active = models.BooleanField(_("active"), default=True)
    last_issue_at = models.DateTimeField(_("last issue at"), null=True, blank=True)
    next_run_at = models.DateTimeField(_("next run at"), null=True, blank=True)

    class Meta:
        verbose_name = _("e-zine schedule")
        verbose_name_plural = _("e-zine schedules")

    def __str__(self):
        return str(self.page)

    def clean(self):
        """A cadence and a zone that mean something, each refused in words."""
        errors = {}
        try:
            zone = recurrence.get_zone(self.time_zone)
        except ValidationError as exc:
            errors["time_zone"] = exc.messages
            zone = datetime.UTC
        try:
            start = timezone.now().astimezone(zone).replace(tzinfo=None, second=0, microsecond=0)
            rule = recurrence.parse_rule(self.cadence, start)
            if rule.after(start) is None:
                errors["cadence"] = [_("This cadence has no run after today.")]
        except ValidationError as exc:
            errors["cadence"] = exc.messages
        if errors:
            raise ValidationError(errors)

    @property
    def tag_list(self):
        return [t.strip().lower() for t in self.section_tags.split(",") if t.strip()]


class PartnerFeed(models.Model):
    ezine = ParentalKey(EZine, on_delete=models.CASCADE, related_name="partner_feeds")
    name = models.CharField(_("name"), max_length=200)
    url = models.URLField(_("feed URL"), max_length=1000)
    is_internal = models.BooleanField(
        _("internal network"),
        default=False,
        help_text=_("Allow a private or loopback address (off protects against SSRF)."),
    )
    max_items = models.PositiveSmallIntegerField(_("items per issue"), default=5)
    last_fetched_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("partner feed")
        verbose_name_plural = _("partner feeds")

    def __str__(self):
        return self.name

    def clean(self):
        """An http(s) feed address; a private or loopback one only when marked internal
        (the fetch refuses it anyway: better said here than at the next run)."""
        parts = urlsplit(self.url or "")
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValidationError(
                {"url": _("Enter the feed's full address, starting with http:// or https://.")}
            )
        if self.is_internal:
            return
        host = parts.hostname.lower()
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            private = host == "localhost" or host.endswith(".localhost")
        else:
            private = not address.is_global
        if private:
            raise ValidationError(
                {
                    "url": _(
                        "“%(host)s” is a private or loopback address: tick “internal "
                        "network” if the feed really lives on your network."
                    )
                    % {"host": host}
                }
            )


class EZineRun(models.Model):
    class Outcome(models.TextChoices):
        ISSUED = "issued", _("Issue published and sent")
        SKIPPED = "skipped", _("Skipped: nothing new")
        FAILED = "failed", _("Failed")

    ezine = models.ForeignKey(EZine, on_delete=models.CASCADE, related_name="runs")
    ran_at = models.DateTimeField(auto_now_add=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    message = models.TextField(blank=True)
    publication = models.ForeignKey(
        "campaigns.Publication",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The issue's publication: the publish service sends it, with retries."),
    )
    issue = models.ForeignKey(
        "content.EZineIssuePage", null=True, blank=True, on_delete=models.SET_NULL
    )
    feed_errors = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-ran_at"]
