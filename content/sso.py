"""Staff single sign-on: python-social-auth pipeline steps.

Only people whose verified email is on an allowed domain get an admin account, and they
get the group mapped to their domain (settings.SSO_DOMAIN_GROUPS). Everyone else is
refused with a clear message (shown on the admin login page) before any user row is
created or any existing account linked. "Verified" means what the provider says: OIDC and
Google must send `email_verified` as boolean true or the string "true"
(claims_email_verified); a missing claim is a no.

This pipeline is for staff sign-in only. Connecting a channel account (e.g. Reddit) must
never pass through it: see channels/ for that flow.
"""

from django.conf import settings
from django.contrib.auth.models import Group
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from social_core.backends.google import BaseGoogleAuth
from social_core.backends.open_id_connect import OpenIdConnectAuth
from social_core.exceptions import AuthPolicyError
from social_django.middleware import SocialAuthExceptionMiddleware


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


# The backends whose providers state `email_verified` (OpenID Connect's standard claim;
# Google's sign-in sends it too). Subclasses count: Google's OIDC backend is an OIDC one.
_CLAIM_BACKENDS = (BaseGoogleAuth, OpenIdConnectAuth)


def claims_email_verified(value) -> bool:
    """Whether an `email_verified` claim says yes. Only boolean True, or the string
    "true" in any case (some providers send the claim as a string), say yes: a missing
    claim, False, "False", "0", 1, None and anything else do not. Silence is not a yes:
    an unverified address on our domain would otherwise sign in as a colleague."""
    if value is True:
        return True
    return isinstance(value, str) and value.strip().lower() == "true"


def _email_verified_claim(backend, response):
    """The provider's `email_verified` claim: the userinfo answer's, else the validated
    ID token's (an OIDC provider may put it in only one of them); None when neither has
    it."""
    if isinstance(response, dict) and "email_verified" in response:
        return response["email_verified"]
    id_token = getattr(backend, "id_token", None)
    if isinstance(id_token, dict):
        return id_token.get("email_verified")
    return None


def _unverified(backend, email: str, response) -> bool:
    """True unless the provider vouches for the address: OIDC and Google must send
    `email_verified` exactly true (claims_email_verified); GitHub lists addresses with a
    `verified` flag, which must be true for this address."""
    if isinstance(backend, _CLAIM_BACKENDS):
        return not claims_email_verified(_email_verified_claim(backend, response))
    if not isinstance(response, dict):
        return False
    if "email_verified" in response:
        return not claims_email_verified(response["email_verified"])
    emails = response.get("emails")
    if isinstance(emails, list):
        for entry in emails:
            if isinstance(entry, dict) and str(entry.get("email", "")).lower() == email:
                return entry.get("verified") is not True
    return False


NOT_VERIFIED = gettext_lazy("Your email address is not verified by your provider.")


class SignInErrorMiddleware(SocialAuthExceptionMiddleware):
    """social_django's middleware, with the refusals a person can act on in their own
    language. Google's backend refuses a missing or false `email_verified` itself,
    before the pipeline runs, with an English message: it gets ours."""

    def get_message(self, request, exception):
        if getattr(exception, "claim", None) == "email_verified":
            return str(NOT_VERIFIED)
        return super().get_message(request, exception)


def require_allowed_domain(backend, details, response=None, *args, **kwargs):
    """Refuse sign-in unless the email is present, verified and on an allowed domain."""
    email = (details.get("email") or "").strip().lower()
    if not email or "@" not in email:
        raise SignInRefused(backend, _("Your identity provider did not share an email address."))
    # Providers that say whether the address is verified (Google, OIDC) must say yes:
    # an unverified address on our domain could otherwise take over a colleague's account.
    if _unverified(backend, email, response):
        raise SignInRefused(backend, str(NOT_VERIFIED))
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
