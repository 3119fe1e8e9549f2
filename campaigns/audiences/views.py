"""Public audience pages: subscribe form, confirmation, unsubscribe, preference centre.

Unsubscribe follows RFC 8058: a GET only shows a confirmation page (mail scanners
follow every link and must never unsubscribe anyone); the POST, which mail clients send
without cookies, needs no CSRF token and is idempotent.

A page reached from a link that names a subscriber speaks the subscriber's stored
language, not the browser's: the email it came from was in that language, and a shared
or work computer's browser says nothing about the reader. Pages that name nobody
(subscribe, a broken link) follow the browser (LocaleMiddleware).

The links of previews and test emails carry a preview token
(audiences.services.preview_link_token): they open the same pages in test mode, where
nothing is changed or recorded.

The subscribe and preference forms are limited per client (limits.py): over the limit,
the same page comes back with status 429, the person's input kept and a message saying
when to try again. The subscribe form answers every address the same way, at once: the
subscribing is a worker's (tasks.subscribe_from_form), so neither the page nor its
timing tells whether an address is known, subscribed or suppressed.
"""

import logging
import math

from django.conf import settings
from django.shortcuts import get_object_or_404, render
from django.utils import translation
from django.utils.translation import ngettext
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from . import limits, services
from .forms import PreferencesForm, SubscribeForm
from .models import MailingList, Subscriber, Subscription
from .tasks import subscribe_from_form

logger = logging.getLogger(__name__)


def _subscribe(*args) -> None:
    """Hand the subscribing to a worker; with the broker unreachable, subscribe here
    rather than lose the person (the answer's timing says more only during an outage)."""
    try:
        subscribe_from_form.delay(*args)
    except Exception:  # noqa: BLE001 - kombu and redis raise their own connection errors
        logger.warning("broker unreachable: subscribing in the web process", exc_info=True)
        subscribe_from_form(*args)


def _render(request, template: str, context: dict, *, language: str = "", status: int = 200):
    """Render in `language` (a subscriber's) when it is one we ship, else in the
    request's language."""
    if language not in dict(settings.LANGUAGES):
        return render(request, template, context, status=status)
    with translation.override(language):
        response = render(request, template, context, status=status)
    # LocaleMiddleware would otherwise label the page with the browser's language.
    response["Content-Language"] = language
    return response


def _link_error(request, error: str = "", status: int = 400):
    return _render(request, "audiences/link_error.html", {"error": error}, status=status)


def _too_many(request, template: str, context: dict, retry_after: int, language: str = ""):
    """The form's own page again, with what was typed, and when to try again (429)."""
    minutes = max(1, math.ceil(retry_after / 60))
    with translation.override(language or translation.get_language()):
        context["limit_error"] = ngettext(
            "Too many attempts from your network. Please try again in %(n)s minute.",
            "Too many attempts from your network. Please try again in %(n)s minutes.",
            minutes,
        ) % {"n": minutes}
    response = _render(request, template, context, language=language, status=429)
    response["Retry-After"] = str(retry_after)
    return response


# The form is meant to be embedded in other sites' pages. In a third-party frame the
# browser sends no cookie, so there is no CSRF cookie to match; the form acts on no
# session or account either, so a forged post can do nothing a direct one cannot, and
# the per-client and per-address limits hold either way.
@csrf_exempt
@xframe_options_exempt
@require_http_methods(["GET", "POST"])
def subscribe_form(request, slug):
    mailing_list = get_object_or_404(MailingList, slug=slug, is_public=True)
    form = SubscribeForm(request.POST or None)
    context = {"form": form, "mailing_list": mailing_list, "done": False, "error": ""}
    if request.method == "POST":
        retry_after = limits.over_limit("subscribe", request)
        if retry_after:
            return _too_many(request, "audiences/subscribe.html", context, retry_after)
        if form.is_valid():
            if not form.cleaned_data["website"]:  # the honeypot: bots get the same answer
                _subscribe(
                    mailing_list.pk,
                    form.cleaned_data["email"],
                    form.cleaned_data["name"],
                    (request.LANGUAGE_CODE or "en").lower(),
                    services.hash_ip(limits.client_ip(request)),
                )
            context["done"] = True
    return render(request, "audiences/subscribe.html", context)


@require_http_methods(["GET", "POST"])
def confirm(request, token):
    """GET shows a button, POST confirms: a scanner's GET confirms nobody."""
    if request.method == "GET":
        return _render(
            request,
            "audiences/confirm.html",
            {"token": token, "done": False},
            language=services.confirmation_language(token),
        )
    try:
        subscription = services.confirm_subscription(token)
    except services.AudienceError as exc:
        return _link_error(request, str(exc))
    return _render(
        request,
        "audiences/confirm.html",
        {"subscription": subscription, "done": True},
        language=subscription.subscriber.language,
    )


@csrf_exempt  # RFC 8058: the one-click POST comes from a mail provider, without cookies
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    preview = services.read_preview_link_token(token)
    if preview is not None:
        return _preview_unsubscribe(request, token, preview)
    try:
        data = services.read_subscriber_token(token)
    except services.AudienceError as exc:
        return _link_error(request, str(exc))
    subscriber = Subscriber.objects.filter(pk=data["s"]).first()
    if subscriber is None:
        return _link_error(request, status=404)
    mailing_list = MailingList.objects.filter(pk=data.get("l")).first()
    context = {"token": token, "email": subscriber.email, "mailing_list": mailing_list}
    if request.method == "POST":
        services.unsubscribe_by_token(token)
    context["done"] = request.method == "POST"
    return _render(request, "audiences/unsubscribe.html", context, language=subscriber.language)


def _preview_unsubscribe(request, token, preview: dict):
    """The unsubscribe page for a test email's link: the same page, nothing changed."""
    context = {
        "token": token,
        "email": preview["t"],
        "mailing_list": MailingList.objects.filter(pk=preview.get("l")).first(),
        "done": request.method == "POST",
        "test_mode": True,
    }
    return _render(request, "audiences/unsubscribe.html", context, language=preview.get("lang", ""))


def _public_list_choices():
    public_lists = list(MailingList.objects.filter(is_public=True))
    return public_lists, [(str(m.pk), m.name) for m in public_lists]


@require_http_methods(["GET", "POST"])
def preferences(request, token):
    preview = services.read_preview_link_token(token)
    if preview is not None:
        return _preview_preferences(request, token, preview)
    try:
        data = services.read_subscriber_token(token)
    except services.AudienceError as exc:
        return _link_error(request, str(exc))
    subscriber = get_object_or_404(Subscriber, pk=data["s"])
    public_lists, choices = _public_list_choices()
    current = set(
        Subscription.objects.filter(
            subscriber=subscriber, status=Subscription.Status.SUBSCRIBED
        ).values_list("mailing_list_id", flat=True)
    )
    initial = {
        "name": subscriber.name,
        "language": subscriber.language,
        "lists": [str(m.pk) for m in public_lists if m.pk in current],
    }
    form = PreferencesForm(request.POST or None, initial=initial, list_choices=choices)
    saved = False
    context = {"form": form, "email": subscriber.email, "saved": saved, "token": token}
    if request.method == "POST":
        retry_after = limits.over_limit("preferences", request)
        if retry_after:
            return _too_many(
                request, "audiences/preferences.html", context, retry_after, subscriber.language
            )
    if request.method == "POST" and form.is_valid():
        services.update_preferences(
            subscriber,
            list_ids=[int(i) for i in form.cleaned_data["lists"]],
            language=form.cleaned_data["language"],
            name=form.cleaned_data["name"],
        )
        saved = True
    context["saved"] = saved
    # After a save, in the language just chosen.
    return _render(request, "audiences/preferences.html", context, language=subscriber.language)


def _preview_preferences(request, token, preview: dict):
    """The preference centre for a test email's link: the real form, never saved."""
    public_lists, choices = _public_list_choices()
    language = preview.get("lang", "")
    initial = {
        "language": language or translation.get_language(),
        "lists": [str(m.pk) for m in public_lists if m.pk == preview.get("l")],
    }
    form = PreferencesForm(request.POST or None, initial=initial, list_choices=choices)
    saved = request.method == "POST" and form.is_valid()
    context = {
        "form": form,
        "email": preview["t"],
        "saved": saved,
        "token": token,
        "test_mode": True,
    }
    return _render(request, "audiences/preferences.html", context, language=language)
