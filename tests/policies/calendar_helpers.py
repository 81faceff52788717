"""Calendars and instants shared by the business-time tests."""

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from policies.engine import (
    CalendarSpec,
    WeeklyInterval,
    business_between,
)

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
US = timedelta(microseconds=1)


def weekdays(start: time, end: time | None, days: Iterable[int] = range(5)) -> tuple[WeeklyInterval, ...]:
    return tuple(WeeklyInterval(day, start, end) for day in days)


OFFICE = CalendarSpec("Europe/London", weekdays(time(9), time(17)))
ALWAYS = weekdays(time(0), None, range(7))
NIGHTS = weekdays(time(22), time(6), range(7))


def local(zone: ZoneInfo, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=zone, fold=fold)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def day_of(spec: CalendarSpec, day: date) -> timedelta:
    """Business time from noon on `day` to noon the next day (local): one night, whatever the clocks do."""
    zone = ZoneInfo(spec.tz)
    noon = datetime.combine(day, time(12), zone)
    return business_between(spec, noon, datetime.combine(day + timedelta(days=1), time(12), zone))
