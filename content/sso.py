"""Staff single sign-on: python-social-auth pipeline steps.

Only people whose verified email is on an allowed domain get an admin account, and they
get the group mapped to their domain (settings.SSO_DOMAIN_GROUPS). Everyone else is
refused with a clear message before any user row is created.

This pipeline is for staff sign-in only. Connecting a channel account (e.g. Reddit) must
never pass through it: see channels/ for that flow.
"""

from django.conf import settings
from django.contrib.auth.models import Group
from django.utils.translation import gettext as _
from social_core.exceptions import AuthPolicyError


class SignInRefused(AuthPolicyError):
    """Raised by the pipeline; the social middleware shows the message on the login page
    (its text is str(exception)) and answers 403 when it renders an error page."""

    def __init__(self, backend, reason):
        super().__init__(backend, code="authentication_disallowed", stage="pipeline")
        self.reason = reason

    def __str__(self):
        return str(self.reason)


def _domain_groups() -> dict[str, str]:
    return {k.strip().lower(): v.strip() for k, v in settings.SSO_DOMAIN_GROUPS.items()}


def email_domain(email: str) -> str:
    return email.strip().lower().rpartition("@")[2]


def _unverified(email: str, response) -> bool:
    """True when the provider says the address is not verified: OIDC and Google send
    `email_verified`; GitHub lists addresses with a `verified` flag."""
    if not isinstance(response, dict):
        return False
    if response.get("email_verified") in (False, "false"):
        return True
    emails = response.get("emails")
    if isinstance(emails, list):
        for entry in emails:
            if isinstance(entry, dict) and str(entry.get("email", "")).lower() == email:
                return not entry.get("verified", False)
    return False


def require_allowed_domain(backend, details, response=None, *args, **kwargs):
    """Refuse sign-in unless the email is present, verified and on an allowed domain."""
    email = (details.get("email") or "").strip().lower()
    if not email or "@" not in email:
        raise SignInRefused(backend, _("Your identity provider did not share an email address."))
    # Providers that say whether the address is verified (Google, OIDC) must say yes:
    # an unverified address on our domain could otherwise take over a colleague's account.
    if _unverified(email, response):
        raise SignInRefused(backend, _("Your email address is not verified by your provider."))
    if email_domain(email) not in _domain_groups():
        raise SignInRefused(
            backend,
            _("Sign-in with %(email)s is not allowed. Ask an administrator for access.")
            % {"email": email},
        )
    details["email"] = email


def grant_domain_group(backend, user=None, details=None, *args, **kwargs):
    """Put the user in the group mapped to their email domain (idempotent)."""
    if user is None:
        return
    group_name = _domain_groups().get(email_domain(details.get("email") or user.email or ""))
    if not group_name:
        return
    group, _created = Group.objects.get_or_create(name=group_name)
    user.groups.add(group)


# backend name -> (label, setting that must be set for it to be offered)
SSO_PROVIDERS = [
    ("google-oauth2", "Google", "SOCIAL_AUTH_GOOGLE_OAUTH2_KEY"),
    ("github", "GitHub", "SOCIAL_AUTH_GITHUB_KEY"),
    ("oidc", None, "SOCIAL_AUTH_OIDC_OIDC_ENDPOINT"),
]


def enabled_providers() -> list[dict]:
    """The providers configured in settings, in the order the login page shows them."""
    providers = []
    for backend, label, setting in SSO_PROVIDERS:
        if getattr(settings, setting, ""):
            providers.append({"backend": backend, "label": label or settings.SOCIAL_AUTH_OIDC_NAME})
    return providers


def sso_context(request):
    """Context processor: the SSO buttons for the admin login page."""
    if not request.path.startswith("/admin/login"):
        return {}
    return {"sso_providers": enabled_providers()}
