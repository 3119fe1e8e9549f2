"""Conversions on the request path: the goal pixel's and script's parameters read
safely, a landing page's form submission, and the campaigns whose off-site links carry
their click id. Each conversion goes to the event queue like a click
(analytics.pusher); analytics.conversion_store stores it.

Public contract (other apps call the first):
- form_submitted(request, page_id, subscriber_id) -> None: every active "form
  submitted" goal of that landing page converts (once per subscriber and goal; every
  submission when there is no subscriber).
- record_external(request, key) -> bool: the pixel /c/<key> (views); False for a goal
  that is unknown or inactive.
- conversion_params(query) -> dict: value, currency, order id and click ids of a query,
  anything hostile dropped.
- carries_click_id(campaign_id, destination) -> bool: whether the redirect adds the
  click id to this off-site destination of this campaign (an active external goal of
  the campaign names the destination's host among its site's addresses).
"""

import re
from decimal import Decimal, InvalidOperation

from .click_carry import CLICK_PARAM, click_cookie_of
from .goal_cache import (  # noqa: F401 - part of this module's contract
    any_external_goal,
    ascii_host,
    carries_click_id,
    forget_goals,
    goals_cache,
)
from .models import Goal
from .pusher import enqueue_event
from .visitors import request_event

KEY_RE = re.compile(r"\A[A-Za-z0-9_-]{16}\Z")
_CURRENCY_RE = re.compile(r"\A[A-Za-z]{3}\Z")
# Printable, no control characters: an order id is shown in the admin.
_ORDER_RE = re.compile(r"\A[\x21-\x7e\u00a0-\uffff ]{1,100}\Z")
_VALUE_RE = re.compile(r"\A[0-9]{1,13}([.,][0-9]{1,4})?\Z")


def conversion_params(query) -> dict:
    """The payload fields of a pixel's query (a QueryDict): `vc` the value in
    hundredths, `cur` the currency, `o` the order id, `ck` the signed click ids (checked
    when stored). Values that are malformed, too long or out of range are left out."""
    fields: dict = {}
    value = (query.get("value") or query.get("v") or "").strip()
    if len(value) <= 20 and _VALUE_RE.match(value):
        try:
            cents = int((Decimal(value.replace(",", ".")) * 100).to_integral_value())
        except InvalidOperation:
            cents = 0
        if cents > 0:
            fields["vc"] = cents
    currency = query.get("currency") or query.get("cur") or ""
    if _CURRENCY_RE.match(currency):
        fields["cur"] = currency.upper()
    order = (query.get("order") or query.get("oid") or "").strip()
    if order and _ORDER_RE.match(order):
        fields["o"] = order
    clicks = [c for c in query.getlist(CLICK_PARAM)[:4] if isinstance(c, str) and len(c) == 49]
    if clicks:
        fields["ck"] = clicks
    return fields


def record_external(request, key: str) -> bool:
    """Queue the conversion of the goal `key` that this pixel request reports."""
    if not KEY_RE.match(key or ""):
        return False
    goal_id = goals_cache()["keys"].get(key)
    if goal_id is None:
        return False
    fields = conversion_params(request.GET) if request.META.get("QUERY_STRING") else {}
    enqueue_event(
        request_event(request, "conversion", g=goal_id, cc=click_cookie_of(request), **fields),
        confirm_after_response=True,
    )
    return True


def form_submitted(request, page_id: int, subscriber_id: int | None) -> None:
    """Convert every active "form submitted" goal of the landing page `page_id`.

    Called by the landing page once a submission is stored. A subscriber converts once
    per goal (a second sign-up of the same person is not a second lead); a submission
    without one counts each time. The visitor's click cookie links the conversion to
    the clicks that brought them."""
    goal_ids = list(
        Goal.objects.filter(kind=Goal.Kind.FORM, active=True, page_id=page_id).values_list(
            "pk", flat=True
        )
    )
    clicks = click_cookie_of(request)
    order = f"subscriber:{int(subscriber_id)}" if subscriber_id else ""
    for goal_id in goal_ids:
        enqueue_event(
            request_event(request, "conversion", g=goal_id, cc=clicks, o=order),
            confirm_after_response=True,
        )
