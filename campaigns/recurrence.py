"""Recurring publications: an RFC 5545 RRULE evaluated in wall-clock time of one zone.

The rule runs on naive local datetimes (dtstart = the series' first occurrence in its
zone), and each occurrence is then attached to the zone. So "every Sunday 09:00
Europe/Berlin" is 08:00 UTC in winter and 07:00 UTC in summer. An occurrence that falls
into a spring-forward gap (02:30 on the changeover night) moves forward by the gap, as
calendar programs do; an ambiguous autumn time takes its first (summer time) reading.
"""

from __future__ import annotations

import datetime
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
