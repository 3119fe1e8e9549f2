"""Segment conditions: the rows the segment builder saves, checked and turned into one
query condition on Subscriber.

A segment's `filters` holds `{"match": "all" | "any", "rules": [row, ...]}`; each row
is `{"field", "op", "value", "key", "days"}` (only the parts its field uses):

- list: member (`is`) or not (`is_not`) of the mailing list whose id is `value`
- tag: has (`is`) or lacks (`is_not`) the tag `value`
- attribute: the attribute `key` `equals` or `contains` `value`
- engagement: `opened`, `clicked` or `engaged` (either) in the last `days` days, or
  `never` opened or clicked anything
- language, timezone: `is` / `is_not` `value`
- a field another app registers (`register_field`: key accounts, survey answers): one
  of its ops, and a value picked from its choices when it has any

Segments saved before the builder hold the older keys (lists, tags_any, tags_all,
attributes, engagement with days); `services.apply_filters` still reads them and ANDs
them with the rows, so nothing stored changes meaning.

Below the services: imports models only, so `services.py` can build on it. Apps above
add their conditions with `register_field` from their AppConfig.ready(), so this module
imports none of them.
"""

from __future__ import annotations

import datetime
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection
from django.db.models import BigIntegerField, Func, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from analytics.models import Event

from .models import LANGUAGE_CHOICES, MailingList, normalise_tags

FIELD_CHOICES = [
    ("list", gettext_lazy("Mailing list")),
    ("tag", gettext_lazy("Tag")),
    ("attribute", gettext_lazy("Attribute")),
    ("engagement", gettext_lazy("Engagement")),
    ("language", gettext_lazy("Language")),
    ("timezone", gettext_lazy("Time zone")),
]
OP_CHOICES = {
    "list": [("is", gettext_lazy("is a member of")), ("is_not", gettext_lazy("is not in"))],
    "tag": [("is", gettext_lazy("has")), ("is_not", gettext_lazy("does not have"))],
    "attribute": [("equals", gettext_lazy("equals")), ("contains", gettext_lazy("contains"))],
    "engagement": [
        ("opened", gettext_lazy("opened an email in the last N days")),
        ("clicked", gettext_lazy("clicked a link in the last N days")),
        ("engaged", gettext_lazy("opened or clicked in the last N days")),
        ("never", gettext_lazy("never opened or clicked")),
    ],
    "language": [("is", gettext_lazy("is")), ("is_not", gettext_lazy("is not"))],
    "timezone": [("is", gettext_lazy("is")), ("is_not", gettext_lazy("is not"))],
}
MATCH_CHOICES = [
    ("all", gettext_lazy("all of these conditions (AND)")),
    ("any", gettext_lazy("any of these conditions (OR)")),
]
LEGACY_KEYS = ("lists", "tags_any", "tags_all", "attributes", "engagement", "days")
MAX_DAYS = 3650
MAX_RULES = 50


@dataclass(frozen=True)
class ExtraField:
    """A condition another app adds to the builder. `condition(rule)` returns the whole
    condition for a cleaned rule (its op included) as a Q on Subscriber; keep it an
    indexed lookup or a small `pk__in` subquery, it runs inside every count. `choices`
    (a callable, read when the builder is drawn and when a rule is checked) lists the
    values to pick from, or is None when the condition takes no value."""

    code: str
    label: object
    ops: list
    condition: Callable[[dict], Q]
    choices: Callable[[], list] | None = None
    value_label: object = ""


EXTRA_FIELDS: dict[str, ExtraField] = {}


def register_field(extra: ExtraField) -> None:
    """Offer `extra` in the segment builder (called from an AppConfig.ready())."""
    if extra.code in OP_CHOICES and extra.code not in EXTRA_FIELDS:
        raise ValueError(f"segment field {extra.code!r} exists already")
    EXTRA_FIELDS[extra.code] = extra
    OP_CHOICES[extra.code] = list(extra.ops)
    if extra.code not in dict(FIELD_CHOICES):
        FIELD_CHOICES.append((extra.code, extra.label))


class SegmentError(ValueError):
    """A condition that cannot be evaluated; the message names its row and is safe to
    show."""


def _row_error(number: int, message: str) -> SegmentError:
    return SegmentError(_("Condition %(n)s: %(problem)s") % {"n": number, "problem": message})


def _clean_rule(number: int, row: dict) -> dict:
    field = str(row.get("field") or "")
    if field not in OP_CHOICES:
        raise _row_error(number, _("choose what to test."))
    op = str(row.get("op") or "")
    if op not in dict(OP_CHOICES[field]):
        raise _row_error(number, _("choose how to compare."))
    value = str(row.get("value") or "").strip()
    rule = {"field": field, "op": op}
    if field == "list":
        if not value.isdigit() or not MailingList.objects.filter(pk=int(value)).exists():
            raise _row_error(number, _("choose a mailing list."))
        rule["value"] = int(value)
    elif field == "tag":
        tags = normalise_tags([value])
        if len(tags) != 1 or "," in tags[0]:
            raise _row_error(number, _("type one tag."))
        rule["value"] = tags[0]
    elif field == "attribute":
        key = str(row.get("key") or "").strip()
        # The key becomes an ORM lookup: refuse anything that could chain another one.
        if not key.isidentifier() or "__" in key:
            raise _row_error(number, _("an attribute name is letters, digits and _."))
        if op == "contains" and not value:
            raise _row_error(number, _("type the text to look for."))
        rule.update(key=key, value=value)
    elif field == "engagement":
        if op != "never":
            days = str(row.get("days") or "").strip()
            if not days.isdigit() or not 1 <= int(days) <= MAX_DAYS:
                message = _("the number of days is a whole number from 1 to %(max)s.")
                raise _row_error(number, message % {"max": MAX_DAYS})
            rule["days"] = int(days)
    elif field == "language":
        if value not in dict(LANGUAGE_CHOICES):
            raise _row_error(number, _("choose a language."))
        rule["value"] = value
    elif field == "timezone":
        if value not in zoneinfo.available_timezones():
            raise _row_error(number, _("choose a time zone, such as Asia/Shanghai."))
        rule["value"] = value
    elif EXTRA_FIELDS[field].choices is not None:
        if value not in {str(choice) for choice, _label in EXTRA_FIELDS[field].choices()}:
            raise _row_error(number, _("choose a value."))
        rule["value"] = value
    return rule


def clean_filters(filters: dict | None) -> dict:
    """Check the builder's rows and return the filters to store: rows with no field
    chosen are dropped, keys from before the builder are kept as they were. Raises
    SegmentError naming the first bad row."""
    filters = dict(filters or {})
    match = filters.get("match") or "all"
    if match not in dict(MATCH_CHOICES):
        raise SegmentError(_("Choose whether all or any of the conditions must hold."))
    rows = [r for r in filters.get("rules") or [] if isinstance(r, dict) and r.get("field")]
    if len(rows) > MAX_RULES:
        raise SegmentError(_("A segment holds at most %(n)s conditions.") % {"n": MAX_RULES})
    cleaned = {k: v for k, v in filters.items() if k in LEGACY_KEYS and v not in (None, "", [])}
    cleaned["match"] = match
    cleaned["rules"] = [_clean_rule(n, row) for n, row in enumerate(rows, start=1)]
    return cleaned


def tag_condition(tag: str) -> Q:
    """Subscribers having `tag` (normalised first): a GIN index lookup on PostgreSQL."""
    tags = normalise_tags([tag])
    return Q(tags__has=tags[0]) if tags else Q(pk__in=[])


def tags_condition(tags, *, match: str = "all") -> Q:
    """Subscribers having every one (`match="all"`) or any (`"any"`) of `tags`."""
    tags = normalise_tags(tags)
    if not tags:
        return Q() if match == "all" else Q(pk__in=[])
    return Q(tags__has_all=tags) if match == "all" else Q(tags__has_any=tags)


def list_member_condition(list_id: int) -> Q:
    """Subscribers subscribed (status "subscribed") to the list `list_id`: a lookup in
    Subscriber.list_ids, which triggers keep (models.py). Suppression is separate:
    combine with Q(suppressed=False) for who may be mailed."""
    return Q(list_ids__has=int(list_id))


def attribute_equals_condition(key: str, value) -> Q:
    """The attribute `key` equals `value`. On PostgreSQL `attributes @> {key: value}`,
    which the GIN jsonb_path_ops index answers; elsewhere a JSON key comparison."""
    if connection.vendor == "postgresql":
        return Q(attributes__contains={key: value})
    return Q(**{f"attributes__{key}": value})


class _KeySubscriberId(Func):
    """The subscriber id in an event's message key "<publication id>:s<subscriber id>"
    (NULL on PostgreSQL when the key has another shape)."""

    output_field = BigIntegerField()

    def as_sql(self, compiler, connection, **extra):
        key, params = compiler.compile(self.source_expressions[0])
        if connection.vendor == "postgresql":
            return f"substring({key} from ':s([0-9]+)$')::bigint", params
        return f"CAST(substr({key}, instr({key}, ':s') + 2) AS INTEGER)", [*params, *params]


def _engaged(kinds: list[str], since: datetime.datetime) -> Q:
    """Who has a human open or click (of `kinds`) since `since`. last_engaged_at, which
    a trigger moves on every such event (triggers.py), is the indexed part; for opens
    or clicks alone the window's events of that kind narrow it (one set of ids, not a
    probe per subscriber)."""
    cond = Q(last_engaged_at__gte=since)
    if set(kinds) == {"open", "click"}:
        return cond
    events = Event.objects.filter(
        kind__in=kinds, is_bot=False, occurred_at__gte=since, message_key__contains=":s"
    ).values(sid=_KeySubscriberId("message_key"))
    return cond & Q(pk__in=events)


def _rule_condition(rule: dict, now: datetime.datetime) -> Q:
    field, op = rule["field"], rule["op"]
    if field in EXTRA_FIELDS:
        return EXTRA_FIELDS[field].condition(rule)
    if field == "list":
        cond = list_member_condition(rule["value"])
    elif field == "tag":
        cond = tag_condition(rule["value"])
    elif field == "attribute":
        key, value = rule["key"], rule["value"]
        if op == "contains":
            return Q(**{f"attributes__{key}__icontains": value})
        # A typed "42" or "true" also matches an attribute stored as a number or a bool.
        cond = attribute_equals_condition(key, value)
        for typed in _typed(value):
            cond |= attribute_equals_condition(key, typed)
        return cond
    elif field == "engagement":
        if op == "never":  # no human open or click ever (the trigger saw every one)
            return Q(last_engaged_at__isnull=True)
        since = now - datetime.timedelta(days=rule["days"])
        kinds = {"opened": ["open"], "clicked": ["click"], "engaged": ["open", "click"]}[op]
        return _engaged(kinds, since)
    else:  # language, timezone
        cond = Q(**{field: rule["value"]})
    return ~cond if op == "is_not" else cond


def _typed(value: str) -> list:
    if value in ("true", "false"):
        return [value == "true"]
    try:
        return [int(value)]
    except ValueError:
        pass
    try:
        return [float(value)]
    except ValueError:
        return []


def rules_condition(filters: dict, now: datetime.datetime) -> Q | None:
    """The builder's rows of `filters` as one condition, or None when there are none.
    The rows are checked again first, so a stored segment whose list has since been
    deleted raises SegmentError instead of silently matching everyone."""
    cleaned = clean_filters(filters)
    conditions = [_rule_condition(rule, now) for rule in cleaned["rules"]]
    if not conditions:
        return None
    combined = conditions[0]
    for cond in conditions[1:]:
        combined = (combined | cond) if cleaned["match"] == "any" else (combined & cond)
    return combined
