"""Public audience pages: subscribe form, confirmation, unsubscribe, preference centre.

Unsubscribe follows RFC 8058: a GET only shows a confirmation page (mail scanners
follow every link and must never unsubscribe anyone); the POST, which mail clients send
without cookies, needs no CSRF token and is idempotent.
"""

from django.shortcuts import get_object_or_404, render
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from . import services
from .forms import PreferencesForm, SubscribeForm
from .models import MailingList, Subscriber, Subscription


def _client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


@xframe_options_exempt  # the form is meant to be embedded in other sites' pages
@require_http_methods(["GET", "POST"])
def subscribe_form(request, slug):
    mailing_list = get_object_or_404(MailingList, slug=slug, is_public=True)
    form = SubscribeForm(request.POST or None)
    context = {"form": form, "mailing_list": mailing_list, "done": False, "error": ""}
    if request.method == "POST" and form.is_valid():
        if not form.cleaned_data["website"]:
            try:
                services.subscribe(
                    form.cleaned_data["email"],
                    mailing_list,
                    method=Subscription.Method.FORM,
                    consent_text=mailing_list.consent_text,
                    ip=_client_ip(request),
                    name=form.cleaned_data["name"],
                    language=(request.LANGUAGE_CODE or "en").lower(),
                )
            except services.AudienceError:
                # Same answer as success: the form must not reveal who is suppressed.
                pass
        context["done"] = True
    return render(request, "audiences/subscribe.html", context)


@require_http_methods(["GET", "POST"])
def confirm(request, token):
    """GET shows a button, POST confirms: a scanner's GET confirms nobody."""
    if request.method == "GET":
        return render(request, "audiences/confirm.html", {"token": token, "done": False})
    try:
        subscription = services.confirm_subscription(token)
    except services.AudienceError as exc:
        return render(request, "audiences/link_error.html", {"error": str(exc)}, status=400)
    return render(request, "audiences/confirm.html", {"subscription": subscription, "done": True})


@csrf_exempt  # RFC 8058: the one-click POST comes from a mail provider, without cookies
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    try:
        data = services.read_subscriber_token(token)
    except services.AudienceError as exc:
        return render(request, "audiences/link_error.html", {"error": str(exc)}, status=400)
    subscriber = Subscriber.objects.filter(pk=data["s"]).first()
    if subscriber is None:
        return render(request, "audiences/link_error.html", {"error": ""}, status=404)
    mailing_list = MailingList.objects.filter(pk=data.get("l")).first()
    context = {"token": token, "subscriber": subscriber, "mailing_list": mailing_list}
    if request.method == "GET":
        return render(request, "audiences/unsubscribe.html", {**context, "done": False})
    services.unsubscribe_by_token(token)
    return render(request, "audiences/unsubscribe.html", {**context, "done": True})


@require_http_methods(["GET", "POST"])
def preferences(request, token):
    try:
        data = services.read_subscriber_token(token)
    except services.AudienceError as exc:
        return render(request, "audiences/link_error.html", {"error": str(exc)}, status=400)
    subscriber = get_object_or_404(Subscriber, pk=data["s"])
    public_lists = list(MailingList.objects.filter(is_public=True))
    current = set(
        Subscription.objects.filter(
            subscriber=subscriber, status=Subscription.Status.SUBSCRIBED
        ).values_list("mailing_list_id", flat=True)
    )
    choices = [(str(m.pk), m.name) for m in public_lists]
    initial = {
        "name": subscriber.name,
        "language": subscriber.language,
        "lists": [str(m.pk) for m in public_lists if m.pk in current],
    }
    form = PreferencesForm(request.POST or None, initial=initial, list_choices=choices)
    saved = False
    if request.method == "POST" and form.is_valid():
        services.update_preferences(
            subscriber,
            list_ids=[int(i) for i in form.cleaned_data["lists"]],
            language=form.cleaned_data["language"],
            name=form.cleaned_data["name"],
        )
        saved = True
    context = {"form": form, "subscriber": subscriber, "saved": saved, "token": token}
    return render(request, "audiences/preferences.html", context)
