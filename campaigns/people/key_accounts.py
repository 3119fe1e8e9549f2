"""Key accounts: a person, or a company (every person whose attributes["company"]
matches, case-insensitively), with an owner on the staff. The owner's home panel lists
their accounts with the last contact and the open cases the providers report; the
segment builder's "Key account" condition selects them."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Upper
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns.audiences.models import Subscriber

from .models import KeyAccount, company_key
from .registry import providers

PANEL_ROWS = 20
PEOPLE_PER_COMPANY = 200  # a company's people counted for its last contact and cases


def company_of(subscriber) -> str:
    return str((subscriber.attributes or {}).get("company") or "").strip()


def account_for(subscriber) -> KeyAccount | None:
    """The key account covering this person: their own, else their company's."""
    own = KeyAccount.objects.filter(subscriber_id=subscriber.pk).select_related("owner").first()
    if own is not None:
        return own
    company = company_key(company_of(subscriber))
    if not company:
        return None
    return KeyAccount.objects.filter(company=company).select_related("owner").first()


def mark(subscriber, owner, *, whole_company: bool = False) -> KeyAccount:
    """Make the person (or their company) a key account owned by `owner`."""
    with transaction.atomic():
        if whole_company:
            company = company_key(company_of(subscriber))
            if not company:
                raise ValueError(_("This person has no company."))
            account, _created = KeyAccount.objects.update_or_create(
                company=company, defaults={"owner": owner}
            )
        else:
            account, _created = KeyAccount.objects.update_or_create(
                subscriber=subscriber, defaults={"owner": owner, "company": ""}
            )
    return account


def unmark(account: KeyAccount) -> None:
    account.delete()


def _company_people(companies: list[str]):
    return Subscriber.objects.alias(
        company_upper=Upper(KeyTextTransform("company", "attributes"))
    ).filter(company_upper__in=companies)


def condition(rule: dict) -> Q:
    """Segment builder: subscribers who are (or are not) a key account, of any owner
    or of one ("value": "any" or an owner's id)."""
    accounts = KeyAccount.objects.all()
    value = str(rule.get("value") or "any")
    if value != "any":
        accounts = accounts.filter(owner_id=int(value))
    people = list(accounts.filter(subscriber__isnull=False).values_list("subscriber_id", flat=True))
    companies = list(accounts.exclude(company="").values_list("company", flat=True))
    q = Q(pk__in=people)
    if companies:
        q |= Q(pk__in=_company_people(companies).values("pk"))
    return ~q if rule.get("op") == "is_not" else q


def owner_choices() -> list[tuple[str, str]]:
    owners = (
        get_user_model()
        .objects.filter(pk__in=KeyAccount.objects.values("owner_id"))
        .order_by("username")
    )
    return [("any", gettext_lazy("any owner"))] + [
        (str(u.pk), u.get_full_name() or u.get_username()) for u in owners
    ]


def owned_accounts(user) -> list[dict]:
    """The panel's rows: each account of `user` with its people's last contact and
    open cases summed over the providers that report them."""
    accounts = list(
        KeyAccount.objects.filter(owner=user)
        .select_related("subscriber")
        .order_by("pk")[: PANEL_ROWS + 1]
    )
    rows = []
    for account in accounts[:PANEL_ROWS]:
        if account.subscriber_id:
            ids = [account.subscriber_id]
            person = account.subscriber
        else:
            ids = list(
                _company_people([account.company])
                .order_by("pk")
                .values_list("pk", flat=True)[:PEOPLE_PER_COMPANY]
            )
            person = None
        rows.append({"account": account, "person": person, "ids": ids})
    all_ids = {i for row in rows for i in row["ids"]}
    last: dict[int, object] = {}
    cases: dict[int, int] = {}
    if all_ids:
        for provider in providers():
            if hasattr(provider, "last_contact"):
                for pk, at in (provider.last_contact(all_ids) or {}).items():
                    if at and (pk not in last or at > last[pk]):
                        last[pk] = at
            if hasattr(provider, "open_cases"):
                for pk, n in (provider.open_cases(all_ids) or {}).items():
                    cases[pk] = cases.get(pk, 0) + int(n or 0)
    for row in rows:
        times = [last[i] for i in row["ids"] if i in last]
        row["last_contact"] = max(times) if times else None
        row["open_cases"] = sum(cases.get(i, 0) for i in row["ids"])
    return rows
