"""Recurring publications: an RFC 5545 RRULE evaluated in wall-clock time of one zone.

The rule runs on naive local datetimes (dtstart = the series' first occurrence in its
zone), and each occurrence is then attached to the zone. So "every Sunday 09:00
Europe/Berlin" is 08:00 UTC in winter and 07:00 UTC in summer. An occurrence that falls
into a spring-forward gap (02:30 on the changeover night) moves forward by the gap, as
calendar programs do; an ambiguous autumn time takes its first (summer time) reading.
"""

from __future__ import annotations

import datetime
import re
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from dateutil.rrule import rrulestr
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# Anything more frequent than hourly on a marketing channel is spam, and a typo in FREQ
# must not turn into thousands of posts.
FORBIDDEN_FREQUENCIES = ("SECONDLY", "MINUTELY")

# Scanning the zone database takes milliseconds; the set never changes while we run.
_known_zones = cache(available_timezones)


def get_zone(name: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name. Raises ValidationError with a clear message."""
    if not name or name not in _known_zones():
        raise ValidationError(
            _("“%(zone)s” is not a known time zone (use an IANA name such as Asia/Shanghai).")
            % {"zone": name},
            code="unknown_timezone",
        )
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:  # pragma: no cover - available_timezones said yes
        raise ValidationError(_("Unknown time zone."), code="unknown_timezone") from None


def normalise_rule(text: str) -> str:
    """Strip an optional "RRULE:" prefix and whitespace; upper-case the rule."""
    rule = (text or "").strip()
    if rule.upper().startswith("RRULE:"):
        rule = rule[6:]
    return rule.strip().upper()


def parse_rule(text: str, dtstart_local: datetime.datetime):
    """A dateutil rrule for `text` starting at the naive local `dtstart_local`.
    Raises ValidationError for anything but a single, sane RRULE."""
    rule = normalise_rule(text)
    if "\n" in rule or "DTSTART" in rule or "RDATE" in rule or "EXDATE" in rule:
        raise ValidationError(
            _("Enter a single RRULE line, e.g. FREQ=WEEKLY;BYDAY=MO."), code="bad_rrule"
        )
    if not rule.startswith("FREQ=") and ";FREQ=" not in rule:
        raise ValidationError(
            _("The recurrence rule needs a FREQ, e.g. FREQ=WEEKLY;BYDAY=MO."), code="bad_rrule"
        )
    if any(f"FREQ={freq}" in rule for freq in FORBIDDEN_FREQUENCIES):
        raise ValidationError(
            _("Recurrences more frequent than hourly are not allowed."), code="bad_rrule"
        )
    try:
        return rrulestr(rule, dtstart=dtstart_local)
    except (ValueError, TypeError) as exc:
        raise ValidationError(
            _("The recurrence rule is not valid: %(error)s") % {"error": exc}, code="bad_rrule"
        ) from None


def localise(naive_local: datetime.datetime, zone: ZoneInfo) -> datetime.datetime:
    """Attach `zone` to a naive wall-clock time and return it in UTC. Nonexistent times
    (spring-forward gap) move forward by the gap; ambiguous ones take fold=0."""
    before = naive_local.replace(tzinfo=zone, fold=0)
    as_utc = before.astimezone(datetime.UTC)
    if as_utc.astimezone(zone).replace(tzinfo=None) != naive_local:
        # A wall time that does not survive the round trip through UTC is in a gap.
        # PEP 495 gives fold=0 the offset from before the change and fold=1 the one
        # after; the difference is the gap. Shift the wall time forward by it (02:30 ->
        # 03:30 in Europe/Berlin), which is what calendar programs do. Reading it with
        # fold=1 instead would land an hour early, before the gap (01:30 CET).
        gap = naive_local.replace(tzinfo=zone, fold=1).utcoffset() - before.utcoffset()
        as_utc = (naive_local + gap).replace(tzinfo=zone, fold=0).astimezone(datetime.UTC)
    return as_utc


def first_occurrence(text: str, start: datetime.datetime, zone_name: str) -> datetime.datetime:
    """The first occurrence at or after the aware `start` (UTC result). Raises
    ValidationError when the rule never fires."""
    zone = get_zone(zone_name)
    local_start = start.astimezone(zone).replace(tzinfo=None)
    rule = parse_rule(text, local_start)
    first = rule.after(local_start, inc=True)
    if first is None:
        raise ValidationError(
            _("The recurrence rule has no occurrence after the first publish time."),
            code="bad_rrule",
        )
    return localise(first, zone)


def next_occurrence(
    text: str, series_start: datetime.datetime, current: datetime.datetime, zone_name: str
) -> datetime.datetime | None:
    """The occurrence after `current` of the series that started at `series_start`
    (both aware), or None when the rule is exhausted (COUNT/UNTIL)."""
    zone = get_zone(zone_name)
    local_start = series_start.astimezone(zone).replace(tzinfo=None)
    local_current = current.astimezone(zone).replace(tzinfo=None)
    rule = parse_rule(text, local_start)
    nxt = rule.after(local_current, inc=False)
    return None if nxt is None else localise(nxt, zone)


def upcoming_occurrences(
    text: str, start: datetime.datetime, zone_name: str, count: int = 5
) -> list[datetime.datetime]:
    """The first `count` occurrences from `start` (for previews in the admin)."""
    out = []
    zone = get_zone(zone_name)
    local_start = start.astimezone(zone).replace(tzinfo=None)
    rule = parse_rule(text, local_start)
    for occurrence in rule.xafter(local_start, count=count, inc=True):
        out.append(localise(occurrence, zone))
    return out


# --- The builder: the few rules people pick from, to and from RRULE text ---------------

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
BUILDER_FREQUENCIES = ("none", "daily", "weekly", "monthly", "custom")
_BUILDER_KEYS = {"FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "COUNT", "UNTIL"}


def build_rule(
    frequency: str,
    *,
    interval: int | None = None,
    weekdays=(),
    month_day: int | None = None,
    count: int | None = None,
    until: datetime.date | None = None,
) -> str:
    """The RRULE for a builder choice ("" for none). `until` is a day in the series'
    zone, included whole. Custom rules are not built here: they are typed."""
    if frequency == "none":
        return ""
    if frequency not in ("daily", "weekly", "monthly"):
        raise ValueError(f"not a builder frequency: {frequency!r}")
    parts = [f"FREQ={frequency.upper()}"]
    if interval and interval > 1:
        parts.append(f"INTERVAL={interval}")
    if frequency == "weekly" and weekdays:
        parts.append("BYDAY=" + ",".join(d for d in WEEKDAYS if d in set(weekdays)))
    if frequency == "monthly" and month_day:
        parts.append(f"BYMONTHDAY={month_day}")
    if count:
        parts.append(f"COUNT={count}")
    elif until:
        # Naive, like the rule's start (wall clock in the series' zone): the last second
        # of that day, so an occurrence on the day itself still counts.
        parts.append(f"UNTIL={until:%Y%m%d}T235959")
    return ";".join(parts)


def rule_to_builder(text: str) -> dict:
    """The builder's values for a stored rule: {"frequency": "custom", "custom": text}
    when the builder cannot show it exactly (so nothing is lost by loading it)."""
    rule = normalise_rule(text)
    if not rule:
        return {"frequency": "none"}
    custom = {"frequency": "custom", "custom": rule}
    try:
        parts = dict(part.split("=", 1) for part in rule.split(";"))
    except ValueError:
        return custom
    frequency = parts.get("FREQ", "").lower()
    if set(parts) - _BUILDER_KEYS or frequency not in ("daily", "weekly", "monthly"):
        return custom
    values: dict = {"frequency": frequency}
    try:
        values["interval"] = int(parts.get("INTERVAL", "1"))
        if "BYDAY" in parts:
            days = parts["BYDAY"].split(",")
            if frequency != "weekly" or not set(days) <= set(WEEKDAYS):
                return custom
            values["weekdays"] = days
        if "BYMONTHDAY" in parts:
            values["month_day"] = int(parts["BYMONTHDAY"])
            if frequency != "monthly" or not 1 <= values["month_day"] <= 31:
                return custom
        if "COUNT" in parts:
            values["count"] = int(parts["COUNT"])
        if "UNTIL" in parts:
            until = parts["UNTIL"]
            if not re.fullmatch(r"\d{8}(T235959)?", until):
                return custom
            values["until"] = datetime.datetime.strptime(until[:8], "%Y%m%d").date()
    except ValueError:
        return custom
    if build_rule(**values) != rule:
        return custom  # e.g. INTERVAL=1 spelled out, or days out of order: keep the text
    return values
