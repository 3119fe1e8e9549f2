"""When a case falls due: one working day by the team's calendar (days, hours, zone,
holidays), through the service that reads Feedback settings. 2026-12-04 is a Friday."""

import datetime
import zoneinfo

import pytest

from campaigns.feedback import services
from campaigns.feedback.models import FeedbackSettings

pytestmark = pytest.mark.django_db
SH = zoneinfo.ZoneInfo("Asia/Shanghai")


def at(zone, *args):
    return datetime.datetime(*args, tzinfo=zone)


@pytest.fixture
def shanghai():
    s = FeedbackSettings.load()
    s.time_zone = "Asia/Shanghai"
    s.save()
    return s


@pytest.mark.parametrize(
    ("opened", "due"),
    [
        # Inside working hours: the same wall-clock time the next working day.
        ((2026, 12, 1, 10, 30), (2026, 12, 2, 10, 30)),
        ((2026, 12, 4, 17, 0), (2026, 12, 7, 17, 0)),  # Friday 17:00 -> Monday 17:00
        ((2026, 12, 4, 16, 0), (2026, 12, 7, 16, 0)),
        # At the opening: the next day's opening.
        ((2026, 12, 7, 9, 0), (2026, 12, 8, 9, 0)),
        # Outside working hours: counting starts at the next opening.
        ((2026, 12, 5, 11, 0), (2026, 12, 8, 9, 0)),  # Saturday -> Tuesday 09:00
        ((2026, 12, 6, 23, 0), (2026, 12, 8, 9, 0)),  # Sunday night -> Tuesday 09:00
        ((2026, 12, 1, 7, 0), (2026, 12, 2, 9, 0)),  # before opening -> next day's opening
        ((2026, 12, 1, 20, 0), (2026, 12, 3, 9, 0)),  # evening -> the day after next
        ((2026, 12, 1, 18, 0), (2026, 12, 3, 9, 0)),  # at closing counts as evening
    ],
)
def test_one_working_day_in_shanghai(shanghai, opened, due):
    assert services.due_time(at(SH, *opened)) == at(SH, *due)


def test_a_holiday_is_skipped(shanghai):
    # 国庆: Thursday 1 and Friday 2 October 2026 are holidays.
    shanghai.holidays = "2026-10-01 国庆\n2026-10-02 国庆\n"
    shanghai.save()
    assert services.due_time(at(SH, 2026, 9, 30, 15, 0)) == at(SH, 2026, 10, 5, 15, 0)
    assert services.due_time(at(SH, 2026, 10, 1, 15, 0)) == at(SH, 2026, 10, 6, 9, 0)


def test_daylight_saving_keeps_the_wall_clock():
    s = FeedbackSettings.load()
    s.time_zone = "America/New_York"
    s.save()
    ny = zoneinfo.ZoneInfo("America/New_York")
    # Clocks go forward on Sunday 8 March 2026: Friday 17:00 EST -> Monday 17:00 EDT,
    # 71 hours later, not 72.
    opened = at(ny, 2026, 3, 6, 17, 0)
    due = services.due_time(opened)
    assert due == at(ny, 2026, 3, 9, 17, 0)
    assert due - opened == datetime.timedelta(hours=71)
    assert due.astimezone(datetime.UTC).hour == 21


def test_the_teams_zone_hours_days_and_length_are_read_from_settings(settings):
    from campaigns.models import TeamSettings

    team = TeamSettings.load()
    team.time_zone = "Europe/Berlin"
    team.save()
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    s = FeedbackSettings.load()
    s.saturday = True
    s.day_starts = datetime.time(8)
    s.day_ends = datetime.time(12)
    s.due_working_days = 2
    s.save()
    # Friday 11:00 + 2 x 4 working hours: 1 h Friday, 4 h Saturday, 3 h Monday.
    assert services.due_time(at(berlin, 2026, 12, 4, 11, 0)) == at(berlin, 2026, 12, 7, 11, 0)


def test_the_settings_refuse_a_calendar_with_no_time(shanghai):
    from django.core.exceptions import ValidationError

    shanghai.day_ends = datetime.time(8)
    shanghai.holidays = "1 October"
    with pytest.raises(ValidationError) as caught:
        shanghai.full_clean()
    assert {"day_ends", "holidays"} <= set(caught.value.message_dict)
