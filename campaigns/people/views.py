"""The admin's People screens: the search, the person page (header, timeline, notes,
key account, other apps' buttons) and its two forms. Thin: the work is in search.py,
timeline.py and key_accounts.py."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from wagtail.admin import messages

from campaigns.audiences.models import MailingList, Subscriber

from . import key_accounts, notes
from .actions import person_actions
from .search import search_people
from .timeline import person_timeline

VIEW = "people.view_person"
ADD_NOTE = "people.add_note"
MARK_KEY = "people.add_keyaccount"


def _require(request, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied


class NoteForm(forms.Form):
    text = forms.CharField(
        label=gettext_lazy("Note"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000
    )


class KeyAccountForm(forms.Form):
    owner = forms.ModelChoiceField(label=gettext_lazy("Owner"), queryset=None)
    whole_company = forms.BooleanField(
        label=gettext_lazy("The whole company (everyone with this company)"), required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = possible_owners()


def possible_owners():
    """Active users who may hold key accounts: those who may mark them."""
    perm = Q(permissions__codename="add_keyaccount", permissions__content_type__app_label="people")
    groups = Group.objects.filter(perm)
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(
            Q(is_superuser=True)
            | Q(groups__in=groups)
            | Q(user_permissions__codename="add_keyaccount")
        )
        .distinct()
        .order_by("username")
    )


def people_search(request):
    _require(request, VIEW)
    query = request.GET.get("q", "").strip()
    people = search_people(query) if query else []
    return TemplateResponse(
        request, "people/search.html", {"query": query, "people": people, "searched": bool(query)}
    )


def person(request, pk: int):
    _require(request, VIEW)
    subscriber = get_object_or_404(Subscriber, pk=pk)
    page = person_timeline(subscriber, request.GET.get("before"))
    lists = MailingList.objects.filter(pk__in=list(subscriber.list_ids or [])[:50])
    attributes = subscriber.attributes or {}
    context = {
        "person": subscriber,
        "phone": attributes.get("phone", ""),
        "company": attributes.get("company", ""),
        "lists": lists,
        "account": key_accounts.account_for(subscriber),
        "entries": page.entries,
        "older_url": f"?before={page.older}" if page.older else "",
        "first_page": bool(request.GET.get("before")),
        "note_form": NoteForm() if request.user.has_perm(ADD_NOTE) else None,
        "key_form": KeyAccountForm(initial={"owner": request.user.pk})
        if request.user.has_perm(MARK_KEY)
        else None,
        "actions": person_actions(request, subscriber),
        "can_edit": request.user.has_perm("audiences.change_subscriber"),
    }
    return TemplateResponse(request, "people/person.html", context)


@require_POST
def add_note(request, pk: int):
    _require(request, ADD_NOTE)
    subscriber = get_object_or_404(Subscriber, pk=pk)
    form = NoteForm(request.POST)
    if form.is_valid():
        notes.add_note(subscriber, request.user, form.cleaned_data["text"])
        messages.success(request, _("Note added."))
    else:
        messages.error(request, _("The note is empty or too long."))
    return redirect(reverse("people_person", args=[subscriber.pk]))


@require_POST
def key_account(request, pk: int):
    _require(request, MARK_KEY)
    subscriber = get_object_or_404(Subscriber, pk=pk)
    if request.POST.get("remove"):
        _require(request, "people.delete_keyaccount")
        account = key_accounts.account_for(subscriber)
        if account is not None:
            key_accounts.unmark(account)
            messages.success(request, _("No longer a key account."))
        return redirect(reverse("people_person", args=[subscriber.pk]))
    form = KeyAccountForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose an owner."))
    else:
        try:
            key_accounts.mark(
                subscriber,
                form.cleaned_data["owner"],
                whole_company=form.cleaned_data["whole_company"],
            )
        except ValueError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("Marked as a key account."))
    return redirect(reverse("people_person", args=[subscriber.pk]))
