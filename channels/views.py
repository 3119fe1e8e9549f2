"""Admin views for channel accounts and manual placement tasks. Thin: permissions,
forms and messages here; the work happens in channels.services and
channels.manual.services."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from social_core.exceptions import SocialAuthBaseException

from . import services
from .base import PublishError
from .forms import ChannelAccountForm, ChooseKindForm, CompleteTaskForm, SkipTaskForm
from .manual import services as manual_services
from .models import ChannelAccount, ManualPlacementTask
from .registry import ADAPTERS


def _require(request, perm: str):
    if not request.user.has_perm(perm):
        raise PermissionDenied


def account_index(request):
    _require(request, "channels.view_channelaccount")
    return render(
        request,
        "channels/account_index.html",
        {
            "page_title": _("Channel accounts"),
            "header_icon": "site",
            "accounts": ChannelAccount.objects.all(),
            "can_add": request.user.has_perm("channels.add_channelaccount"),
        },
    )


def account_create(request):
    _require(request, "channels.add_channelaccount")
    kind = request.GET.get("kind") or request.POST.get("kind")
    if kind not in ADAPTERS:
        form = ChooseKindForm(request.GET or None)
        return render(
            request,
            "channels/account_choose_kind.html",
            {"page_title": _("Add a channel account"), "header_icon": "site", "form": form},
        )
    return _account_form(request, ChannelAccount(kind=kind))


def account_edit(request, pk: int):
    _require(request, "channels.change_channelaccount")
    account = get_object_or_404(ChannelAccount, pk=pk)
    return _account_form(request, account)


def _account_form(request, account: ChannelAccount):
    form = ChannelAccountForm(request.POST or None, instance=account, kind=account.kind)
    if request.method == "POST":
        if form.is_valid():
            new_secrets, cleared = form.secrets_value()
            account = form.save(commit=False)
            services.save_channel_account(
                account, settings=form.settings_value(), new_secrets=new_secrets, cleared=cleared
            )
            messages.success(
                request, _("Channel account “%(name)s” saved.") % {"name": account.name}
            )
            if "test" in request.POST:
                return _run_test(request, account)
            return redirect("channels_admin:account_edit", pk=account.pk)
        messages.error(request, _("The account could not be saved: correct the errors below."))
    return render(
        request,
        "channels/account_form.html",
        {
            "page_title": account.name or _("New channel account"),
            "page_subtitle": account.get_kind_display(),
            "header_icon": "site",
            "form": form,
            "account": account,
            "is_reddit": account.kind == "forum/reddit",
            "reddit_connected": bool(account.pk and account.secrets.get("refresh_token")),
        },
    )


def _run_test(request, account):
    ok, message = services.test_channel_account(account)
    (messages.success if ok else messages.error)(request, message)
    return redirect("channels_admin:account_edit", pk=account.pk)


def account_test(request, pk: int):
    """ "Test connection": runs validate_account and reports the answer."""
    _require(request, "channels.change_channelaccount")
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    return _run_test(request, get_object_or_404(ChannelAccount, pk=pk))


def _reddit_redirect_uri(request) -> str:
    # The URI registered with Reddit is <BASE_URL>/admin/channels/reddit/callback/ (README),
    # whatever Host header this request came in with.
    return settings.WAGTAILADMIN_BASE_URL + reverse("channels_admin:reddit_callback")


def reddit_connect(request, pk: int):
    _require(request, "channels.change_channelaccount")
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    account = get_object_or_404(ChannelAccount, pk=pk, kind="forum/reddit")
    from .forum.reddit_connect import start_connect

    return redirect(start_connect(request, account, _reddit_redirect_uri(request)))


def reddit_callback(request):
    """Reddit sends the marketer back here. Stores tokens on the channel account only;
    the signed-in user stays exactly who they were."""
    _require(request, "channels.change_channelaccount")
    from .forum.reddit_connect import finish_connect

    try:
        account_pk, tokens = finish_connect(request, _reddit_redirect_uri(request))
    except KeyError:
        messages.error(request, _("This Reddit authorisation was not started here; try again."))
        return redirect("channels_admin:account_index")
    except SocialAuthBaseException as exc:
        messages.error(request, _("Reddit did not connect: %(error)s") % {"error": exc})
        return redirect("channels_admin:account_index")
    except PublishError as exc:  # the code exchange, through channels.http
        messages.error(request, _("Reddit did not connect: %(error)s") % {"error": exc.message})
        return redirect("channels_admin:account_index")
    try:
        account = services.connect_reddit_account(account_pk, tokens)
    except PublishError as exc:
        messages.error(request, _("Reddit did not connect: %(error)s") % {"error": exc.message})
        return redirect("channels_admin:account_edit", pk=account_pk)
    messages.success(
        request,
        _("Reddit account u/%(name)s connected.") % {"name": account.settings.get("username")},
    )
    return redirect("channels_admin:account_edit", pk=account.pk)


# --- manual placement tasks ------------------------------------------------------------


def task_index(request):
    _require(request, "channels.view_manualplacementtask")
    show = request.GET.get("show", "open")
    tasks = ManualPlacementTask.objects.select_related(
        "publication__campaign", "publication__channel_account", "assignee"
    )
    if show == "mine":
        tasks = tasks.filter(assignee=request.user, status=ManualPlacementTask.Status.OPEN)
    elif show == "open":
        tasks = tasks.filter(status=ManualPlacementTask.Status.OPEN)
    return render(
        request,
        "channels/task_index.html",
        {
            "page_title": _("Manual placements"),
            "header_icon": "tasks",
            "tasks": tasks,
            "show": show,
        },
    )


def task_detail(request, pk: int):
    _require(request, "channels.view_manualplacementtask")
    task = get_object_or_404(
        ManualPlacementTask.objects.select_related(
            "publication__campaign", "publication__channel_account", "assignee"
        ),
        pk=pk,
    )
    done_form, skip_form = CompleteTaskForm(), SkipTaskForm()
    if request.method == "POST":
        _require(request, "channels.change_manualplacementtask")
        action = request.POST.get("action")
        form = (CompleteTaskForm if action == "done" else SkipTaskForm)(request.POST)
        if action == "done":
            done_form = form
        else:
            skip_form = form
        if action in ("done", "skip") and form.is_valid():
            try:
                with transaction.atomic():
                    if action == "done":
                        manual_services.complete_task(
                            task, form.cleaned_data["public_url"], request.user
                        )
                        messages.success(request, _("Placement recorded as done."))
                    else:
                        manual_services.skip_task(task, form.cleaned_data["reason"], request.user)
                        messages.success(request, _("Placement skipped."))
            except ValidationError as exc:
                form.add_error(None if action == "skip" else "public_url", exc)
            else:
                return redirect("channels_admin:task_detail", pk=task.pk)
        elif action not in ("done", "skip"):
            raise Http404
    return render(
        request,
        "channels/task_detail.html",
        {
            "page_title": task.title,
            "page_subtitle": _("Manual placement"),
            "header_icon": "tasks",
            "task": task,
            "done_form": done_form,
            "skip_form": skip_form,
            "can_change": request.user.has_perm("channels.change_manualplacementtask"),
        },
    )
