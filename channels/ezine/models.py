"""E-zines: a cadence (RRULE), sections, partner feeds, and the log of each run."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


def default_time_zone() -> str:
    return settings.TIME_ZONE


class EZine(models.Model):
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

    def __str__(self):
        return str(self.page)

    @property
    def tag_list(self):
        return [t.strip().lower() for t in self.section_tags.split(",") if t.strip()]


class PartnerFeed(models.Model):
    ezine = models.ForeignKey(EZine, on_delete=models.CASCADE, related_name="partner_feeds")
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

    def __str__(self):
        return self.name


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
