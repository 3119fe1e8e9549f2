"""Two guards of the web entry points: the Content-Security-Policy and the answer to a
locked-out sign-in.

The Content-Security-Policy: one strict policy for everything the public sees (hub
pages, emails' web versions, the subscribe form), one for the Wagtail admin.

django-csp builds the header from `CONTENT_SECURITY_POLICY` (config/settings/base.py);
this middleware picks the admin's directives under ADMIN_PREFIXES and makes
`frame-ancestors` say what X-Frame-Options says, so the two never disagree:

- X-Frame-Options DENY (the default): `frame-ancestors 'none'`;
- SAMEORIGIN (Wagtail's previews set it): `'self'`;
- no X-Frame-Options at all (a view marked `xframe_options_exempt`, like the subscribe
  form, meant to be embedded in other sites' pages): `CSP_EMBED_FRAME_ANCESTORS`.

It must sit in MIDDLEWARE before XFrameOptionsMiddleware, so that its response hook runs
after X-Frame-Options is decided.
"""

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.forms.utils import ErrorDict
from django.http import HttpResponse
from django.template.response import TemplateResponse

from content.signin import lockout_message

ADMIN_PREFIXES = ("/admin/", "/django-admin/")


class PolicyMiddleware(CSPMiddleware):
    def get_policy_parts(self, request, response, report_only=False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if report_only or parts.config is not None:
            return parts  # a view chose its own policy with @csp: leave it whole
        replace = dict(parts.replace or {})
        if request.path_info.startswith(ADMIN_PREFIXES):
            replace.update(settings.CSP_ADMIN_DIRECTIVES)
        if "frame-ancestors" not in replace:
            replace["frame-ancestors"] = frame_ancestors(response)
        parts.replace = replace
        return parts


def frame_ancestors(response) -> list[str]:
    xfo = response.get("X-Frame-Options", "").upper()
    if xfo == "SAMEORIGIN":
        return ["'self'"]
    if xfo or not getattr(response, "xframe_options_exempt", False):
        return ["'none'"]
    return list(settings.CSP_EMBED_FRAME_ANCESTORS)


def lockout_response(request, original_response, credentials=None):
    """django-axes' lockout answer (AXES_LOCKOUT_CALLABLE): the sign-in page again, with
    the lockout said in the form's own error list, in the reader's language, and 429.

    Axes refused the attempt inside `authenticate()`, so the page already rendered says
    "wrong password"; the form is told the real reason and rendered again. Anything
    that is not a rendered form page (an API call) gets the sentence as text.
    """
    minutes = max(1, int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))
    message = lockout_message(minutes)
    context = getattr(original_response, "context_data", None) or {}
    form = context.get("form")
    if isinstance(original_response, TemplateResponse) and form is not None:
        form._errors = ErrorDict()  # "wrong password" is not why it failed
        form.add_error(None, message)
        original_response.content = original_response.rendered_content
        original_response.status_code = 429
        return original_response
    return HttpResponse(message, status=429, content_type="text/plain; charset=utf-8")
