"""Storing conversions (the drainer's side of goals): a conversion payload, or a page
view of a goal's hub page, becomes a `conversion` Event of the goal's campaign, linked
to the clicks that led to it and placed on its last human click's channel, publication,
page and link, so the rollups carry conversions wherever they carry clicks.

Called by analytics.events.store_events only. The payload keys a conversion carries
(analytics.conversions builds them on the request): g goal id, vc value in hundredths,
cur currency, o order id, cc the hub's click cookie, ck signed click ids from the URL.

Public contract: load_goals(payloads), fill_conversion(event, payload, goals),
add_page_goal_conversions(events, goals), link_clicks(events), dedupe_orders(events).
"""

import hashlib

from django.db.models import Q

from .click_carry import clicks_of_cookie, parse_click, window
from .models import Event, Goal

_GOAL_FIELDS = ("pk", "campaign_id", "kind", "page_id", "currency", "active")
_CLICK_FIELDS = (
    "uid",
    "occurred_at",
    "campaign_id",
    "channel",
    "publication_id",
    "page_id",
    "link_id",
    "is_bot",
    "subscriber_id",
)


def _as_int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return 0


def load_goals(payloads: list[dict]) -> dict:
    """{"by_id": {goal id: goal row}, "by_page": {page id: [page goals]}}: the goals the
    batch's conversions name, and the active "hub page reached" goals of the pages it
    viewed. One query."""
    goal_ids = {_as_int(p.get("g")) for p in payloads if p["k"] == "conversion"} - {0}
    page_ids = {_as_int(p.get("p")) for p in payloads if p["k"] == "pageview"} - {0}
    if not goal_ids and not page_ids:
        return {"by_id": {}, "by_page": {}}
    rows = Goal.objects.filter(
        Q(pk__in=goal_ids) | Q(kind=Goal.Kind.PAGE, active=True, page_id__in=page_ids)
    ).values(*_GOAL_FIELDS)
    by_id, by_page = {}, {}
    for row in rows:
        by_id[row["pk"]] = row
        if row["kind"] == Goal.Kind.PAGE and row["active"] and row["page_id"] in page_ids:
            by_page.setdefault(row["page_id"], []).append(row)
    return {"by_id": by_id, "by_page": by_page}


def _click_uids(p: dict) -> list[str]:
    """The signed clicks a payload carries (cookie first, then the URL's), each once."""
    uids = clicks_of_cookie(p.get("cc"))
    carried = p.get("ck")
    for value in carried if isinstance(carried, list) else [carried]:
        uid = parse_click(value)
        if uid:
            uids.append(uid)
    return list(dict.fromkeys(uids))[-12:]


def fill_conversion(event: Event, p: dict, goals: dict) -> bool:
    """Fill a conversion Event from its payload; False (nothing stored) for a goal that
    is unknown or inactive."""
    goal = goals["by_id"].get(_as_int(p.get("g")))
    if goal is None or not goal["active"]:
        return False
    _fill_from_goal(event, goal)
    currency = str(p.get("cur") or "")[:3].upper()
    value = _as_int(p.get("vc"))
    # One currency per campaign: a value in another currency is not added up.
    if 0 < value < 10**15 and currency in ("", goal["currency"]):
        event.value_cents = value
    event.currency = currency if currency.isalpha() else ""
    event.order_id = str(p.get("o") or "")[:100]
    event.click_ids = " ".join(_click_uids(p))
    return True


def _fill_from_goal(event: Event, goal: dict) -> None:
    event.goal_id = goal["pk"]
    event.campaign_id = goal["campaign_id"]
    event.page_id = goal["page_id"] or 0 if goal["kind"] != Goal.Kind.EXTERNAL else 0
    event.channel = ""


def add_page_goal_conversions(events: list[Event], goals: dict) -> list[Event]:
    """A conversion for each active "hub page reached" goal of each page view in
    `events`: once per visitor and day (the order id is the daily visitor hash), with
    the clicks the page view's cookie carried. Their uids derive from the page view's,
    so storing the page view twice stores its conversions once."""
    added = []
    for view in events:
        if view.kind != "pageview":
            continue
        for goal in goals["by_page"].get(view.page_id, ()):
            uid = hashlib.sha256(f"{view.uid}|goal|{goal['pk']}".encode()).hexdigest()[:32]
            conversion = Event(
                uid=uid,
                kind="conversion",
                occurred_at=view.occurred_at,
                received_at=view.received_at,
                visitor_hash=view.visitor_hash,
                user_agent=view.user_agent,
                is_bot=view.is_bot,
                bot_reason=view.bot_reason,
                order_id=f"visit:{view.visitor_hash}" if view.visitor_hash else "",
                click_ids=" ".join(_click_uids({"cc": getattr(view, "carried_clicks", "")})),
            )
            _fill_from_goal(conversion, goal)
            added.append(conversion)
    events.extend(added)
    return added


def dedupe_orders(events: list[Event]) -> list[Event]:
    """`events` without the second and later conversions of one order of one goal in
    this batch (the database's unique constraint refuses those stored earlier)."""
    seen = set()
    kept = []
    for event in events:
        if event.kind == "conversion" and event.order_id:
            key = (event.goal_id, event.order_id)
            if key in seen:
                continue
            seen.add(key)
        kept.append(event)
    return kept


def touches(conversion, clicks: dict[str, dict]) -> list[dict]:
    """The clicks that led to `conversion` (an Event or a row with campaign_id,
    occurred_at and click_ids), oldest first: stored, human, of the goal's campaign,
    within the attribution window before it."""
    since = conversion.occurred_at - window()
    found = []
    for uid in (conversion.click_ids or "").split():
        click = clicks.get(uid)
        if (
            click
            and not click["is_bot"]
            and click["campaign_id"] == conversion.campaign_id
            and since <= click["occurred_at"] <= conversion.occurred_at
        ):
            found.append(click)
    return sorted(found, key=lambda c: c["occurred_at"])


def clicks_by_uid(uids) -> dict[str, dict]:
    """The stored clicks of `uids`, by uid (one query by the unique uid index)."""
    uids = list(set(uids))
    if not uids:
        return {}
    rows = Event.objects.filter(uid__in=uids, kind="click").values(*_CLICK_FIELDS)
    return {row["uid"]: row for row in rows}


def link_clicks(events: list[Event]) -> None:
    """Place each conversion of `events` on its last human click (channel, publication,
    page, link) and mark it first (`is_first`) when it is that click's first
    conversion: the conversion rate's numerator counts each converting click once."""
    conversions = [e for e in events if e.kind == "conversion"]
    if not conversions:
        return
    clicks = clicks_by_uid(uid for e in conversions for uid in e.click_ids.split())
    # A click drained in the same batch as its conversion is not stored yet.
    for e in events:
        if e.kind == "click":
            clicks.setdefault(e.uid, {f: getattr(e, f) for f in _CLICK_FIELDS})
    keyed = []
    for conversion in conversions:
        found = touches(conversion, clicks)
        if not found:
            continue
        last = found[-1]
        conversion.channel = last["channel"]
        conversion.publication_id = last["publication_id"]
        conversion.page_id = last["page_id"]
        conversion.link_id = last["link_id"]
        conversion.message_key = f"click:{last['uid']}"
        conversion.subscriber_id = last.get("subscriber_id") or 0
        if not conversion.is_bot:
            keyed.append(conversion)
    if not keyed:
        return
    known = set(
        Event.objects.filter(
            message_key__in={e.message_key for e in keyed}, kind="conversion", is_first=True
        ).values_list("message_key", flat=True)
    )
    for conversion in sorted(keyed, key=lambda e: e.occurred_at):
        if conversion.message_key not in known:
            conversion.is_first = True
            known.add(conversion.message_key)
