from django.db import models
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
