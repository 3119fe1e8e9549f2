"""Provider webhooks for bounces and complaints. No session, no CSRF: each request is
authenticated by the provider's own signature, checked in channels.email.bounces.

Every refusal is a short plain-text reason with a 4xx status (503 only when Amazon SNS
could not be reached, so SNS tries again), and is logged; a malformed body never
becomes a 500."""

import logging

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from channels.models import ChannelAccount

from . import bounces
from .config import FEEDBACK_HOOK_MAILGUN, FEEDBACK_HOOK_SES, feedback_hook_config

logger = logging.getLogger(__name__)
MAX_BODY = 256 * 1024


def _account(account_id):
    return get_object_or_404(ChannelAccount, pk=account_id, kind="email/smtp")


def _refuse(status: int, reason: str) -> HttpResponse:
    return HttpResponse(reason, status=status, content_type="text/plain; charset=utf-8")


def _body(request) -> bytes | None:
    """The body, or None when it is (or says it is) larger than MAX_BODY: refused
    before Django reads it into memory."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY:
        return None
    body = request.read(MAX_BODY + 1)
    return None if len(body) > MAX_BODY else body


def _handle(request, account, hook: str, handler, refused_status=None) -> HttpResponse:
    body = _body(request)
    if body is None:
        return _refuse(refused_status or 400, "body too large")
    config = feedback_hook_config(account)
    try:
        if not config.accepts(hook):
            raise bounces.ForeignTopic(f"this account uses the {config.provider} webhook")
        handler(body, config)
    except bounces.FeedbackError as exc:
        logger.warning("%s webhook refused for account %s: %s", hook, account.pk, exc)
        return _refuse(refused_status or exc.status, str(exc))
    return HttpResponse("ok", content_type="text/plain")


@csrf_exempt
@require_POST
def ses_webhook(request, account_id):
    return _handle(
        request,
        _account(account_id),
        FEEDBACK_HOOK_SES,
        lambda body, config: bounces.handle_sns_payload(body, topic_arn=config.sns_topic_arn),
    )


@csrf_exempt
@require_POST
def mailgun_webhook(request, account_id):
    # Every refusal is a 406: the one answer that tells Mailgun not to retry a request
    # we will never accept (it retries any other non-2xx for hours).
    return _handle(
        request,
        _account(account_id),
        FEEDBACK_HOOK_MAILGUN,
        lambda body, config: bounces.handle_mailgun_payload(body, config.mailgun_signing_key),
        refused_status=406,
    )
