"""SMTP account settings: declared once for the account form (SMTP_SETTINGS,
SMTP_SECRETS) and read from ChannelAccount.settings / .secrets with the same defaults
(SMTPConfig). The bounce and complaint webhook settings (which provider's hook the
account uses, the SES topic ARN, the Mailgun signing key) are read by
`feedback_hook_config`."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings as django_settings
from django.utils.translation import gettext_lazy as _

from channels.base import AccountField, FieldType

DEFAULT_PORT = 25
DEFAULT_SECURITY = "starttls"
DEFAULT_BATCH_SIZE = 200
DEFAULT_CONCURRENCY = 2
DEFAULT_TIMEOUT = 30

# The provider webhooks for bounces and complaints (channels.email.bounces).
FEEDBACK_HOOK_SES = "ses"
FEEDBACK_HOOK_MAILGUN = "mailgun"
# An SNS topic ARN: partition, region, 12-digit account, topic name (FIFO topics, which
# SES cannot publish to, are not accepted).
SNS_TOPIC_ARN_PATTERN = r"arn:aws(?:-cn|-us-gov)?:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}"


def mailing_list_choices() -> list[tuple[str, str]]:
    """The lists an account can send to by default, read when the form is built."""
    from campaigns.audiences.models import MailingList

    return list(MailingList.objects.order_by("name").values_list("slug", "name"))


SMTP_SETTINGS = (
    AccountField(
        "host",
        _("SMTP server"),
        help_text=_("Host name of your mail server or provider, e.g. smtp.example.com"),
        required=True,
        max_length=255,
    ),
    AccountField(
        "port",
        _("Port"),
        FieldType.INTEGER,
        help_text=_("587 for STARTTLS, 465 for SSL, 25 for a plain relay."),
        required=True,
        default=DEFAULT_PORT,
        min_value=1,
        max_value=65535,
    ),
    AccountField(
        "security",
        _("Security"),
        FieldType.CHOICE,
        choices=(
            ("starttls", _("STARTTLS (port 587)")),
            ("ssl", _("SSL/TLS from the start (port 465)")),
            ("none", _("None (only a trusted local relay)")),
        ),
        required=True,
        default=DEFAULT_SECURITY,
    ),
    AccountField(
        "username",
        _("SMTP user name"),
        help_text=_("Leave empty if the server needs no login."),
        max_length=255,
    ),
    AccountField(
        "from_name",
        _("From name"),
        help_text=_("The sender's name readers see, e.g. Acme News."),
        max_length=200,
    ),
    AccountField(
        "from_email",
        _("From address"),
        FieldType.EMAIL,
        help_text=_(
            "May be internationalised (e.g. 新闻@例子.中国) if the server supports SMTPUTF8."
        ),
        required=True,
    ),
    AccountField("reply_to", _("Reply-to address"), FieldType.EMAIL),
    AccountField(
        "postal_address",
        _("Postal address"),
        FieldType.TEXTAREA,
        help_text=_("The sender's postal address; the law requires it in every footer."),
        required=True,
    ),
    AccountField(
        "default_list",
        _("Default mailing list"),
        FieldType.CHOICE,
        choices=mailing_list_choices,
        help_text=_("Who an email publication goes to unless its send panel says otherwise."),
    ),
    AccountField(
        "rate_limit_per_second",
        _("Messages per second"),
        FieldType.NUMBER,
        help_text=_("The most this account sends per second, all workers together; 0: no limit."),
        default=0,
        min_value=0,
    ),
    AccountField(
        "batch_size",
        _("Batch size"),
        FieldType.INTEGER,
        help_text=_("Messages sent over one connection before the next batch."),
        default=DEFAULT_BATCH_SIZE,
        min_value=1,
        max_value=10000,
    ),
    AccountField(
        "concurrency",
        _("Parallel connections"),
        FieldType.INTEGER,
        help_text=_("Batches sent at the same time; many providers allow only a few."),
        default=DEFAULT_CONCURRENCY,
        min_value=1,
        max_value=50,
    ),
    AccountField(
        "timeout",
        _("Timeout (seconds)"),
        FieldType.NUMBER,
        help_text=_("How long to wait for the server before trying again later."),
        default=DEFAULT_TIMEOUT,
        min_value=1,
        max_value=600,
    ),
    AccountField(
        "bounce_address",
        _("Bounce address"),
        FieldType.EMAIL,
        help_text=_(
            "Optional. Where refusals go (the envelope sender); default: the from address."
        ),
    ),
    AccountField(
        "message_id_domain",
        _("Message-ID domain"),
        help_text=_("Optional. Default: the from address's domain."),
        max_length=255,
    ),
    AccountField(
        "dkim_selector",
        _("DKIM selector"),
        help_text=_("Optional. Set it with a DKIM key to sign every message."),
        max_length=63,
    ),
    AccountField(
        "dkim_domain",
        _("DKIM domain"),
        help_text=_("Optional. Default: the from address's domain."),
        max_length=255,
    ),
    AccountField(
        "feedback_webhook",
        _("Bounce and complaint webhook"),
        FieldType.CHOICE,
        choices=(
            (FEEDBACK_HOOK_SES, _("Amazon SES (through an SNS topic)")),
            (FEEDBACK_HOOK_MAILGUN, _("Mailgun")),
        ),
        help_text=_(
            "The provider that reports this account's bounces and complaints to the hub; "
            "leave empty if none does. Its webhook address is /hooks/email/<account number>/ses/ (or /mailgun/) on "
            "this site; the number is in this page's address."
        ),
    ),
    AccountField(
        "sns_topic_arn",
        _("SES notification topic (SNS topic ARN)"),
        help_text=_(
            "Required for the Amazon SES webhook: the ARN of the SNS topic SES publishes "
            "bounces and complaints to, e.g. arn:aws:sns:eu-west-1:123456789012:ses-feedback. "
            "Messages and subscription requests from any other topic are refused."
        ),
        max_length=300,
        pattern=SNS_TOPIC_ARN_PATTERN,
        required_when=("feedback_webhook", FEEDBACK_HOOK_SES),
    ),
)

SMTP_SECRETS = (
    AccountField(
        "password",
        _("SMTP password"),
        FieldType.PASSWORD,
        help_text=_("The password (or app password) of the SMTP user."),
    ),
    AccountField(
        "dkim_private_key",
        _("DKIM private key"),
        FieldType.SECRET_TEXT,
        help_text=_("Optional. The PEM private key for the DKIM selector."),
    ),
    AccountField(
        "mailgun_signing_key",
        _("Mailgun webhook signing key"),
        FieldType.PASSWORD,
        help_text=_(
            "Required for the Mailgun webhook: Sending, Webhooks, HTTP webhook signing key."
        ),
        required_when=("feedback_webhook", FEEDBACK_HOOK_MAILGUN),
    ),
)


@dataclass(frozen=True)
class FeedbackHookConfig:
    """Which provider webhook an account accepts, and what authenticates it."""

    provider: str  # FEEDBACK_HOOK_SES, FEEDBACK_HOOK_MAILGUN or "" (none chosen)
    sns_topic_arn: str
    mailgun_signing_key: str

    def accepts(self, provider: str) -> bool:
        """Whether the account takes `provider`'s webhook: the one it names, or any
        while it names none (accounts saved before the choice existed among them).
        The webhook then still requires its credential (topic ARN, signing key)."""
        return not self.provider or self.provider == provider


def feedback_hook_config(account) -> FeedbackHookConfig:
    s = account.settings or {}
    secrets = account.secrets or {}
    return FeedbackHookConfig(
        provider=str(s.get("feedback_webhook") or ""),
        sns_topic_arn=str(s.get("sns_topic_arn") or "").strip(),
        mailgun_signing_key=str(secrets.get("mailgun_signing_key") or ""),
    )


@dataclass(frozen=True)
class SMTPConfig:
    host: str
    port: int
    security: str
    username: str
    password: str
    from_name: str
    from_email: str
    reply_to: str
    rate_limit_per_second: float
    postal_address: str
    message_id_domain: str
    bounce_address: str
    default_list: str
    batch_size: int
    concurrency: int
    dkim_selector: str
    dkim_domain: str
    dkim_private_key: str
    timeout: float = 30.0
    # The account is marked internal: its host may be on loopback or a private network.
    allow_internal: bool = False

    @classmethod
    def from_account(cls, account) -> SMTPConfig:
        s = account.settings or {}
        secrets = account.secrets or {}
        from_email = s.get("from_email", "")
        site_host = urlsplit(django_settings.SITE_BASE_URL).hostname or "localhost"
        domain = s.get("message_id_domain") or (from_email.rpartition("@")[2] or site_host)
        return cls(
            host=s.get("host", "localhost"),
            port=int(s.get("port") or DEFAULT_PORT),
            security=s.get("security") or DEFAULT_SECURITY,
            username=s.get("username", ""),
            password=secrets.get("password", ""),
            from_name=s.get("from_name", ""),
            from_email=from_email,
            reply_to=s.get("reply_to", ""),
            rate_limit_per_second=float(s.get("rate_limit_per_second") or 0),
            postal_address=s.get("postal_address", ""),
            message_id_domain=domain,
            bounce_address=s.get("bounce_address") or from_email,
            default_list=s.get("default_list", ""),
            batch_size=max(1, int(s.get("batch_size") or DEFAULT_BATCH_SIZE)),
            concurrency=max(1, int(s.get("concurrency") or DEFAULT_CONCURRENCY)),
            dkim_selector=s.get("dkim_selector", ""),
            dkim_domain=s.get("dkim_domain", ""),
            dkim_private_key=secrets.get("dkim_private_key", ""),
            timeout=float(s.get("timeout") or DEFAULT_TIMEOUT),
            allow_internal=bool(account.is_internal),
        )
