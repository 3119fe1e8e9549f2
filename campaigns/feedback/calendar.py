"""Working time: when a feedback case falls due.

The team's working calendar is a set of weekdays (Monday to Friday by default), working
hours on each (09:00 to 18:00), a time zone and a list of holidays, all read on the
wall clock of that zone (FeedbackSettings; the zone defaults to the team's).

**The rule.** A case is due `n` working days after it opened, where one working day is
the length of one day's working hours (9 hours by default), counted only inside working
hours of working days that are not holidays:

- opened inside working hours: counting starts at once, so the due time is the same
  wall-clock time on the n-th next working day (Friday 17:00 -> Monday 17:00, a holiday
  Monday -> Tuesday 17:00);
- opened outside working hours (evening, weekend, holiday): counting starts at the next
  opening, so a case sent on Saturday is due at the opening of the second working day
  after it (Saturday -> Monday 09:00 + 9 working hours = Tuesday 09:00);
- a due time that lands exactly on a day's closing is moved to the next working day's
  opening (the same instant in working time), so "the same wall-clock time" holds for
  cases opened at the opening too (Monday 09:00 -> Tuesday 09:00).

Hours are wall-clock hours, so a day with a daylight-saving change still has its nine
working hours from 09:00 to 18:00 (the elapsed time between opening and due time is one
hour shorter or longer across the change; the wall clock is what the team reads).
"""

from __future__ import annotations

import datetime
import zoneinfo
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# A year of days at most: a calendar with every day a holiday never loops for ever.
MAX_DAYS = 3660


def validate_zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(_("Unknown time zone: %(zone)s") % {"zone": name}) from None


def parse_holidays(text: str) -> frozenset[datetime.date]:
    """One date per line (YYYY-MM-DD), anything after the date on the line is its name."""
    days = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        token = line.split()[0]
        try:
            days.add(datetime.date.fromisoformat(token))
        except ValueError:
            raise ValidationError(
                _("Line %(line)s: “%(text)s” does not start with a date (YYYY-MM-DD).")
                % {"line": number, "text": line[:40]}
            ) from None
    return frozenset(days)


@dataclass(frozen=True)
class WorkCalendar:
    time_zone: str = "UTC"
    weekdays: frozenset[int] = frozenset(range(5))  # 0 = Monday
    starts: datetime.time = datetime.time(9)
    ends: datetime.time = datetime.time(18)
    holidays: frozenset[datetime.date] = field(default_factory=frozenset)

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return validate_zone(self.time_zone)

    @property
    def day_seconds(self) -> float:
        day = datetime.date(2000, 1, 3)
        span = datetime.datetime.combine(day, self.ends) - datetime.datetime.combine(
            day, self.starts
        )
        return span.total_seconds()

    def is_working_day(self, day: datetime.date) -> bool:
        return day.weekday() in self.weekdays and day not in self.holidays

    def _aware(self, wall: datetime.datetime) -> datetime.datetime:
        return wall.replace(tzinfo=self.zone).astimezone(datetime.UTC)

    def add_working_seconds(self, start: datetime.datetime, seconds: float) -> datetime.datetime:
        """`start` (aware) plus `seconds` of working time, as an aware UTC datetime."""
        if self.day_seconds <= 0 or not self.weekdays:
            raise ValueError("a working calendar needs working days and hours")
        wall = start.astimezone(self.zone).replace(tzinfo=None)
        day, cursor, remaining = wall.date(), wall, float(seconds)
        for _i in range(MAX_DAYS):
            if self.is_working_day(day):
                opens = datetime.datetime.combine(day, self.starts)
                closes = datetime.datetime.combine(day, self.ends)
                begin = max(cursor, opens)
                if begin < closes:
                    available = (closes - begin).total_seconds()
                    # Strictly less: landing on the closing moves to the next opening.
                    if remaining < available:
                        return self._aware(begin + datetime.timedelta(seconds=remaining))
                    remaining -= available
            day += datetime.timedelta(days=1)
            cursor = datetime.datetime.combine(day, datetime.time.min)
        raise ValueError("no working time within ten years")

    def add_working_days(self, start: datetime.datetime, days: int) -> datetime.datetime:
        return self.add_working_seconds(start, days * self.day_seconds)
