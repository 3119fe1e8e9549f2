"""SMTP account settings, read from ChannelAccount.settings / .secrets with defaults.

settings: host, port, security ("starttls" | "ssl" | "none"), username, from_name,
from_email, reply_to, rate_limit_per_second (0 = unlimited), postal_address,
message_id_domain, bounce_address, default_list (a MailingList slug), batch_size,
concurrency (parallel batch tasks), dkim_selector, dkim_domain.
secrets: password, dkim_private_key (PEM).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings as django_settings


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

    @classmethod
    def from_account(cls, account) -> SMTPConfig:
        s = account.settings or {}
        secrets = account.secrets or {}
        from_email = s.get("from_email", "")
        site_host = urlsplit(django_settings.SITE_BASE_URL).hostname or "localhost"
        domain = s.get("message_id_domain") or (from_email.rpartition("@")[2] or site_host)
        return cls(
            host=s.get("host", "localhost"),
            port=int(s.get("port") or 25),
            security=s.get("security", "starttls"),
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
            batch_size=max(1, int(s.get("batch_size") or 200)),
            concurrency=max(1, int(s.get("concurrency") or 2)),
            dkim_selector=s.get("dkim_selector", ""),
            dkim_domain=s.get("dkim_domain", ""),
            dkim_private_key=secrets.get("dkim_private_key", ""),
            timeout=float(s.get("timeout") or 30),
        )
