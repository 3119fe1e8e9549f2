"""Provider webhooks for bounces and complaints. No session, no CSRF: each request is
authenticated by the provider's own signature, checked in channels.email.bounces."""

import logging

from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from channels.models import ChannelAccount

from . import bounces

logger = logging.getLogger(__name__)
MAX_BODY = 256 * 1024


def _account(account_id):
    return get_object_or_404(ChannelAccount, pk=account_id, kind="email/smtp")


@csrf_exempt
@require_POST
def ses_webhook(request, account_id):
    account = _account(account_id)
    if len(request.body) > MAX_BODY:
        return HttpResponseBadRequest("too large")
    try:
        bounces.handle_sns_payload(
            request.body, topic_arn=(account.settings or {}).get("sns_topic_arn", "")
        )
    except bounces.FeedbackError as exc:
        logger.warning("SES webhook refused for account %s: %s", account.pk, exc)
        return HttpResponseBadRequest(str(exc))
    return HttpResponse("ok")


@csrf_exempt
@require_POST
def mailgun_webhook(request, account_id):
    account = _account(account_id)
    if len(request.body) > MAX_BODY:
        return HttpResponseBadRequest("too large")
    try:
        bounces.handle_mailgun_payload(
            request.body, (account.secrets or {}).get("mailgun_signing_key", "")
        )
    except bounces.FeedbackError as exc:
        logger.warning("Mailgun webhook refused for account %s: %s", account.pk, exc)
        # 406 tells Mailgun not to retry a request we will never accept.
        return HttpResponse(str(exc), status=406)
    return HttpResponse("ok")
