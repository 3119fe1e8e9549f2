"""Storing events: validating the non-HTTP ones (record_events) and turning queue
payloads into Event rows (store_events, the drainer's core): dimensions resolved,
bots and mail scanners flagged, unique events and first events per recipient marked
(what the metrics count: analytics.metrics, docs/metrics.md), inserted once per uid.

Public contract: record_events(events) -> int (other apps call it), store_events,
lock_events (the rollup shares its lock), REFLAG_WINDOW_SECONDS.

Nothing here touches the event queue: storing needs the database only.
"""

import datetime
import hashlib
import logging
import uuid
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from campaigns.audiences.models import Subscriber
from campaigns.models import Publication

from . import classify, conversion_store
from .hub_links import HUB_CHANNEL
from .metrics import HUB_LINK_CHANNELS, HUB_PUBLICATION_KINDS
from .models import Event, TrackedLink
from .tokens import parse_message_token
from .visits import parse_visit

logger = logging.getLogger(__name__)

RECORDABLE_KINDS = {"send", "delivery", "bounce", "complaint", "unsubscribe"}

# Scanner heuristics (issue 6): a click this soon after delivery is a machine.
FAST_CLICK_SECONDS = 2.0
# Events this recent may still be re-flagged as scanner clicks; the rollup waits
# longer than this before counting an event (ANALYTICS_ROLLUP_LAG_SECONDS).
REFLAG_WINDOW_SECONDS = 30


# --- Non-HTTP events ------------------------------------------------------------------------


def record_events(events: list[dict]) -> int:
    """Record send/delivery/bounce/complaint/unsubscribe events in bulk.

    Each dict: kind, publication_id, occurred_at (aware datetime), optional
    recipient_key, optional uid. All events are validated first; any invalid one raises
    ValueError naming it and nothing is recorded. Idempotent for events with a
    recipient_key (or uid): recording the same event twice stores it once.
    Returns the number of events newly stored.
    """
    payloads = []
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            raise ValueError(f"event {index}: not a dict")
        kind = event.get("kind")
        if kind not in RECORDABLE_KINDS:
            raise ValueError(
                f"event {index}: kind {kind!r} is not one of {sorted(RECORDABLE_KINDS)}"
            )
        try:
            publication_id = int(event.get("publication_id"))
        except (TypeError, ValueError):
            raise ValueError(f"event {index}: publication_id must be an integer") from None
        occurred_at = event.get("occurred_at")
        if not isinstance(occurred_at, datetime.datetime) or timezone.is_naive(occurred_at):
            raise ValueError(f"event {index}: occurred_at must be an aware datetime")
        recipient_key = str(event.get("recipient_key") or "")[:150]
        uid = event.get("uid") or (
            hashlib.sha256(
                f"{kind}|{publication_id}|{recipient_key}|{occurred_at.timestamp()}".encode()
            ).hexdigest()[:32]
            if recipient_key
            else uuid.uuid4().hex
        )
        payloads.append(
            {
                "u": str(uid)[:32],
                "k": kind,
                "t": occurred_at.timestamp(),
                "pub": publication_id,
                "rk": recipient_key,
            }
        )
    return store_events(payloads)


# --- Storing events (the drainer's core) ---------------------------------------------------

# One advisory lock key shared with the rollup: drains hold it shared, the rollup
# exclusively, so every event id below the rollup's watermark is committed.
ADVISORY_LOCK_KEY = 7_206_001


def lock_events(exclusive: bool) -> None:
    if connection.vendor == "postgresql":
        fn = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {fn}(%s)", [ADVISORY_LOCK_KEY])


def _as_int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def store_events(payloads: list[dict]) -> int:
    """Store queue payloads as Event rows: resolve dimensions, flag bots and scanners,
    mark unique events, insert. Idempotent per payload uid. Returns rows inserted."""
    now = timezone.now()
    clean, uids = _distinct_payloads(payloads)
    if not clean:
        return 0

    with transaction.atomic():
        lock_events(exclusive=False)
        stored = set(Event.objects.filter(uid__in=list(uids)).values_list("uid", flat=True))
        clean = [p for p in clean if p["u"] not in stored]
        if not clean:
            return 0
        dimensions = _load_dimensions(clean)
        events = []
        for payload in clean:
            event = _event_from_payload(payload, now, dimensions)
            if event is not None:
                events.append(event)
        conversion_store.add_page_goal_conversions(events, dimensions.goals)
        events = conversion_store.dedupe_orders(events)
        _flag_scanner_clicks(events, now)
        _mark_unique(events)
        _mark_first(events)
        for event in events:
            event.subscriber_id = subscriber_of(event.message_key)
        _forget_erased(events)
        # After the lines above: a conversion takes its last click's subscriber.
        conversion_store.link_clicks(events)
        insert_events(events)
    return len(events)


def subscriber_of(message_key: str) -> int:
    """The subscriber id a message key "<publication>:s<id>" names, else 0."""
    pub, sep, key = message_key.partition(":s")
    ok = sep and pub.isascii() and pub.isdigit() and key.isascii() and key.isdigit()
    return int(key) if ok and len(key) < 19 else 0


def _forget_erased(events: list[Event]) -> None:
    """Events naming a subscriber who no longer exists (erased or deleted: an old
    email's link or open pixel, a click queued before the erasure) are stored as the
    erasure left that person's earlier events (campaigns.people.rights_data
    events_erase): "<publication>:erased", no subscriber, no visitor hash or browser.
    Their flags (unique, first) stay, so the counts count them. One query per batch."""
    ids = {e.subscriber_id for e in events if e.subscriber_id}
    if not ids:
        return
    gone = ids - set(Subscriber.objects.filter(pk__in=ids).values_list("pk", flat=True))
    for event in events:
        if event.subscriber_id in gone:
            event.message_key = f"{event.publication_id}:erased"
            event.subscriber_id = 0
            event.visitor_hash = event.user_agent = ""


def _distinct_payloads(payloads: list[dict]) -> tuple[list[dict], set[str]]:
    """The payloads worth storing (with a uid and a known kind; the first of each uid)
    and their uids."""
    seen: set[str] = set()
    clean = []
    for payload in payloads:
        uid = str(payload.get("u") or "")[:32]
        if not uid or uid in seen or payload.get("k") not in Event.Kind.values:
            continue
        seen.add(uid)
        clean.append(payload)
    return clean, seen


@dataclass
class _Dimensions:
    """What one batch of payloads points at, read with one query per table."""

    links: dict[int, dict]  # link id -> its campaign, publication, page and channel
    messages: dict[str, tuple[int, str]]  # valid token -> (publication id, recipient key)
    publications: dict[int, dict]  # publication id -> its campaign, page and account kind
    goals: dict  # conversion_store.load_goals: goals by id and page goals by page


def _load_dimensions(payloads: list[dict]) -> _Dimensions:
    link_ids = {_as_int(p.get("l")) for p in payloads if p["k"] == "click"} - {0}
    links = {
        row["pk"]: row
        for row in TrackedLink.objects.filter(pk__in=link_ids).values(
            "pk", "campaign_id", "publication_id", "page_id", "channel"
        )
    }
    messages = {}
    for p in payloads:
        if p.get("m"):
            parsed = parse_message_token(p["m"])
            if parsed:
                messages[p["m"]] = parsed
    pub_ids = {_as_int(p.get("pub")) for p in payloads} | {m[0] for m in messages.values()}
    publications = {
        row["pk"]: row
        for row in Publication.objects.filter(pk__in=pub_ids - {0}).values(
            "pk", "campaign_id", "page_id", "channel_account__kind"
        )
    }
    return _Dimensions(links, messages, publications, conversion_store.load_goals(payloads))


def _event_from_payload(p: dict, now, dimensions: _Dimensions) -> Event | None:
    """The Event a payload records, or None when it records nothing (its link was
    deleted, its token is invalid, its publication unknown)."""
    kind = p["k"]
    event = Event(
        uid=p["u"],
        kind=kind,
        occurred_at=datetime.datetime.fromtimestamp(float(p.get("t") or 0), tz=datetime.UTC)
        if p.get("t")
        else now,
        received_at=now,
        visitor_hash=str(p.get("v") or "")[:32],
        user_agent=str(p.get("a") or "")[:300],
        bot_reason=str(p.get("b") or "")[:40],
    )
    event.is_bot = bool(event.bot_reason)
    fill = _FILL_BY_KIND.get(kind, _fill_recorded_event)
    return event if fill(event, p, dimensions) else None


def _fill_click(event: Event, p: dict, dimensions: _Dimensions) -> bool:
    link = dimensions.links.get(_as_int(p.get("l")))
    if link is None:
        return False  # the link was deleted since the click
    event.link_id = link["pk"]
    event.campaign_id = link["campaign_id"] or 0
    event.publication_id = link["publication_id"] or 0
    event.page_id = link["page_id"] or 0
    event.channel = link["channel"]
    message = dimensions.messages.get(p.get("m"))
    # A token only attributes clicks on links of its own publication.
    if message and message[0] == event.publication_id:
        event.message_key = f"{message[0]}:{message[1]}"[:200]
    # A hub page's link belongs to no campaign; the campaign (and publication) whose
    # link brought this visitor to the hub, from the signed visit cookie, does. The
    # channel stays "hub": these clicks are never counted as the arriving channel's.
    if event.channel == HUB_CHANNEL and not event.campaign_id:
        visit = parse_visit(p.get("ca"))
        if visit:
            event.campaign_id, event.publication_id = visit
    return True


def _fill_open(event: Event, p: dict, dimensions: _Dimensions) -> bool:
    message = dimensions.messages.get(p.get("m"))
    pub = dimensions.publications.get(message[0]) if message else None
    if pub is None:
        return False  # an invalid token records nothing
    event.message_key = f"{message[0]}:{message[1]}"[:200]
    _fill_from_publication(event, pub)
    return True


def _fill_pageview(event: Event, p: dict, dimensions: _Dimensions) -> bool:
    event.page_id = _as_int(p.get("p"))
    ref = classify.classify_referrer(
        str(p.get("r") or "")[:2000],
        own_host=str(p.get("h") or ""),
        landing_url=str(p.get("lu") or "")[:2000],
    )
    event.referrer_class = ref["class"]
    event.search_engine = ref["engine"]
    event.search_query = ref["query"][:200]
    # The hub's click cookie, for the page's "hub page reached" goals (conversion_store).
    event.carried_clicks = p.get("cc") or ""
    return True


def _fill_recorded_event(event: Event, p: dict, dimensions: _Dimensions) -> bool:
    """Send, delivery, bounce, complaint, unsubscribe (record_events)."""
    pub = dimensions.publications.get(_as_int(p.get("pub")))
    if pub is None:
        logger.warning("dropping %s event for unknown publication %s", event.kind, p.get("pub"))
        return False
    _fill_from_publication(event, pub)
    if p.get("rk"):
        event.message_key = f"{pub['pk']}:{p['rk']}"[:200]
    return True


def _fill_conversion(event: Event, p: dict, dimensions: _Dimensions) -> bool:
    return conversion_store.fill_conversion(event, p, dimensions.goals)


_FILL_BY_KIND = {
    "click": _fill_click,
    "open": _fill_open,
    "pageview": _fill_pageview,
    "conversion": _fill_conversion,
}


def insert_events(events: list[Event]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING for many events: an event stored before (its
    uid) or an order a goal already counted (conversion_order_once) is skipped. On PostgreSQL one
    statement per 5,000 rows with a column array each (unnest): the ORM's bulk_create
    spent more time building its VALUES list than PostgreSQL spent storing it."""
    if connection.vendor != "postgresql":
        Event.objects.bulk_create(events, batch_size=1000, ignore_conflicts=True)
        return
    fields = [f for f in Event._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in fields)
    sql = (
        f"INSERT INTO {Event._meta.db_table} ({columns}) SELECT * FROM unnest({arrays})"
        " ON CONFLICT DO NOTHING"
    )
    with connection.cursor() as cursor:
        for start in range(0, len(events), 5000):
            chunk = events[start : start + 5000]
            cursor.execute(sql, [[getattr(e, f.attname) for e in chunk] for f in fields])


def _fill_from_publication(event: Event, pub: dict) -> None:
    event.publication_id = pub["pk"]
    event.campaign_id = pub["campaign_id"]
    event.page_id = pub["page_id"] or 0
    event.channel = (pub["channel_account__kind"] or "").split("/", 1)[0]


def _flag_scanner_clicks(events: list[Event], now) -> None:
    """Mail scanners: a click within FAST_CLICK_SECONDS of the message's delivery, and
    every link of a message clicked inside one such window. Clicks already stored in
    the last REFLAG_WINDOW_SECONDS are re-flagged too (the rollup has not counted them
    yet: it lags by more than that)."""
    clicks = [e for e in events if e.kind == "click" and e.message_key and not e.is_bot]
    if not clicks:
        return
    keys = {e.message_key for e in clicks}
    _flag_clicks_right_after_delivery(events, clicks, keys)
    _flag_every_link_at_once(clicks, keys, now)


def _flag_clicks_right_after_delivery(events: list[Event], clicks: list[Event], keys) -> None:
    deliveries: dict[str, list] = {}
    for e in events:
        if e.kind == "delivery" and e.message_key in keys:
            deliveries.setdefault(e.message_key, []).append(e.occurred_at)
    for key, at in Event.objects.filter(kind="delivery", message_key__in=keys).values_list(
        "message_key", "occurred_at"
    ):
        deliveries.setdefault(key, []).append(at)
    for click in clicks:
        for delivered in deliveries.get(click.message_key, []):
            if 0 <= (click.occurred_at - delivered).total_seconds() < FAST_CLICK_SECONDS:
                click.is_bot, click.bot_reason = True, classify.REASON_FAST_AFTER_DELIVERY


def _flag_every_link_at_once(clicks: list[Event], keys, now) -> None:
    """Every link of a message clicked within FAST_CLICK_SECONDS: a scanner, whether the
    clicks came in this batch or were stored in the last REFLAG_WINDOW_SECONDS."""
    pub_ids = {e.publication_id for e in clicks if e.publication_id}
    link_counts = dict(
        TrackedLink.objects.filter(publication_id__in=pub_ids)
        .values("publication_id")
        .annotate(n=Count("pk"))
        .values_list("publication_id", "n")
    )
    recent = list(
        Event.objects.filter(
            kind="click",
            is_bot=False,
            message_key__in=keys,
            received_at__gte=now - datetime.timedelta(seconds=REFLAG_WINDOW_SECONDS),
        )
    )
    by_message: dict[str, list[Event]] = {}
    for e in [*recent, *(c for c in clicks if not c.is_bot)]:
        by_message.setdefault(e.message_key, []).append(e)
    reflag_ids = []
    for group in by_message.values():
        needed = link_counts.get(group[0].publication_id, 0)
        if needed < 2 or len({e.link_id for e in group}) < needed:
            continue
        reflag_ids.extend(_flag_windows_with_every_link(group, needed))
    if reflag_ids:
        Event.objects.filter(pk__in=reflag_ids).update(
            is_bot=True,
            bot_reason=classify.REASON_ALL_LINKS,
            is_unique=False,
            is_first=False,
            is_first_open=False,
        )


def _flag_windows_with_every_link(group: list[Event], needed: int) -> list[int]:
    """Flag the clicks of one message that fall in a FAST_CLICK_SECONDS window holding
    `needed` distinct links; returns the ids of those already stored."""
    reflag_ids = []
    group.sort(key=lambda e: e.occurred_at)
    start = 0
    for end in range(len(group)):
        while (
            group[end].occurred_at - group[start].occurred_at
        ).total_seconds() > FAST_CLICK_SECONDS:
            start += 1
        window = group[start : end + 1]
        if len({e.link_id for e in window}) >= needed:
            for e in window:
                e.is_bot, e.bot_reason, e.is_unique = True, classify.REASON_ALL_LINKS, False
                e.is_first = e.is_first_open = False
                if e.pk:
                    reflag_ids.append(e.pk)
    return reflag_ids


def _unique_identity(event: Event) -> tuple | None:
    """What makes an event 'the same visitor again'. Messages are one recipient for
    good; web visitors are their daily hash, so web uniques are per day."""
    if event.kind == "click":
        if event.message_key:
            return ("click", event.link_id, "m", event.message_key)
        return ("click", event.link_id, "v", event.visitor_hash) if event.visitor_hash else None
    if event.kind == "open" and event.message_key:
        return ("open", event.publication_id, "m", event.message_key)
    if event.kind == "pageview" and event.visitor_hash:
        return ("pageview", event.page_id, "v", event.visitor_hash)
    return None


def _mark_unique(events: list[Event]) -> None:
    candidates = [(e, _unique_identity(e)) for e in events if not e.is_bot]
    candidates = [(e, ident) for e, ident in candidates if ident]
    if not candidates:
        return
    message_keys = {ident[3] for _, ident in candidates if ident[2] == "m"}
    known: set[tuple] = set()
    query = Q(pk__in=[])
    if message_keys:
        query |= Q(message_key__in=message_keys)
    # Web visitors by hash *and* link or page: one visitor (a whole office behind one
    # address and browser build) may have clicked thousands of links, and fetching all
    # of their unique events for every batch made storing a click slower the more that
    # visitor had clicked. The (visitor_hash, link_id, kind) index serves both.
    for kind, column in (("click", "link_id"), ("pageview", "page_id")):
        pairs = {(i[1], i[3]) for _, i in candidates if i[0] == kind and i[2] == "v"}
        if pairs:
            query |= Q(
                kind=kind,
                visitor_hash__in={h for _, h in pairs},
                **{f"{column}__in": {target for target, _ in pairs}},
            )
    for row in (
        Event.objects.filter(query, is_unique=True)
        .exclude(kind__in=RECORDABLE_KINDS)
        .values("kind", "link_id", "publication_id", "page_id", "message_key", "visitor_hash")
    ):
        probe = Event(**{k: v for k, v in row.items()})
        ident = _unique_identity(probe)
        if ident:
            known.add(ident)
    for event, ident in sorted(candidates, key=lambda pair: pair[0].occurred_at):
        if ident not in known:
            event.is_unique = True
            known.add(ident)


# --- First events per recipient (the rates' numerators and denominators) ---------------

# What a recipient must already have for an event of this kind to count as theirs: an
# open, email click or unsubscribe of a message never recorded as delivered, or a bounce
# of a message never sent, is not set against the delivered (or sent) count.
_FIRST_NEEDS = {
    "send": None,
    "delivery": None,
    "open": "delivery",
    "click": "delivery",
    "unsubscribe": "delivery",
    "bounce": "send",
    "complaint": "send",
}
# At the same instant a send comes before its delivery, a delivery before the rest.
_KIND_ORDER = {"send": 0, "delivery": 1}


def _mark_first(events: list[Event]) -> None:
    """Set `is_first` (see analytics.metrics) on the events of this batch that are the
    first of their kind for their recipient (or, for a click on the web, for their
    visitor and page that day) and can be counted against that recipient's delivery,
    send or page view. Two queries at most per batch; each recipient's earlier events
    are read by the (message_key, kind) and (visitor_hash, link_id, kind) indexes."""
    mail = [
        e
        for e in events
        if e.message_key
        and e.kind in _FIRST_NEEDS
        and not (e.kind in ("open", "click") and e.is_bot)
    ]
    if mail:
        _mark_first_of_recipients(mail)
    web = [
        e
        for e in events
        if e.kind == "click" and not e.message_key and not e.is_bot and e.visitor_hash
    ]
    if web:
        _mark_first_web_clickers(web, events)


def _mark_first_of_recipients(mail: list[Event]) -> None:
    known = set(
        Event.objects.filter(message_key__in={e.message_key for e in mail}, is_first=True)
        .values_list("kind", "message_key")
        .distinct()
    )
    opened = set(
        Event.objects.filter(message_key__in={e.message_key for e in mail}, is_first_open=True)
        .values_list("message_key", flat=True)
        .distinct()
    )
    for event in sorted(mail, key=lambda e: (e.occurred_at, _KIND_ORDER.get(e.kind, 2))):
        key = (event.kind, event.message_key)
        need = _FIRST_NEEDS[event.kind]
        if need and (need, event.message_key) not in known:
            continue
        if key not in known:
            event.is_first = True
            known.add(key)
        if event.kind in ("open", "click") and event.message_key not in opened:
            event.is_first_open = True
            opened.add(event.message_key)


def _mark_first_web_clickers(clicks: list[Event], batch: list[Event]) -> None:
    """A visitor's first click that day on a link of hub content whose page they viewed
    that day (visitor hashes are daily). Clicks elsewhere are not set against views."""
    on_hub = set(
        TrackedLink.objects.filter(pk__in={e.link_id for e in clicks})
        .filter(
            Q(channel__in=HUB_LINK_CHANNELS)
            | Q(publication__channel_account__kind__in=HUB_PUBLICATION_KINDS)
        )
        .values_list("pk", flat=True)
    )
    clicks = [e for e in clicks if e.link_id in on_hub and e.page_id]
    if not clicks:
        return
    hashes = {e.visitor_hash for e in clicks}
    pages = {e.page_id for e in clicks}
    # Viewed before the click: a view stored earlier, or one of this batch no later.
    viewed_at: dict[tuple, datetime.datetime | None] = {}
    for e in batch:
        if e.kind == "pageview" and e.is_unique:
            viewed_at[(e.page_id, e.visitor_hash)] = e.occurred_at
    for key in Event.objects.filter(
        kind="pageview", is_unique=True, visitor_hash__in=hashes, page_id__in=pages
    ).values_list("page_id", "visitor_hash"):
        viewed_at[key] = None
    known = set(
        Event.objects.filter(
            kind="click", is_first=True, message_key="", visitor_hash__in=hashes, page_id__in=pages
        ).values_list("page_id", "visitor_hash")
    )
    for event in sorted(clicks, key=lambda e: e.occurred_at):
        key = (event.page_id, event.visitor_hash)
        if key not in viewed_at or key in known:
            continue
        if viewed_at[key] is None or viewed_at[key] <= event.occurred_at:
            event.is_first = True
            known.add(key)
