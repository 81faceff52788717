"""Business calendars as plain values: weekly opening intervals, holidays and an IANA time zone.

A `CalendarSpec` is frozen and hashable, so the engine can cache what it derives from one (its index of open
spans) by value: two equal specs loaded separately from the database share that cache. Building a spec
checks it; `validate` gives the same messages without raising, for forms and the admin.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, time
from functools import cached_property
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from policies.engine.errors import InvalidCalendar

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

DAY_US = 86_400_000_000
WEEK_US = 7 * DAY_US


@dataclass(frozen=True)
class WeeklyInterval:
    """Opening hours on one weekday (0 = Monday) as the local clock reads them.

    `end=None` means 24:00. An `end` at or before `start` (22:00-06:00) runs past midnight and ends on the
    next day; the interval still belongs to the weekday it starts on. Equal start and end is invalid.
    """

    weekday: int
    start: time
    end: time | None = None

    def length_us(self) -> int:
        """How long the interval lasts on the wall clock, in microseconds (at most 24 hours)."""
        start = time_us(self.start)
        end = DAY_US if self.end is None else time_us(self.end)
        return end - start if end > start else end + DAY_US - start

    def label(self) -> str:
        """The interval as a person reads it: 'Monday 22:00-06:00'."""
        weekday = WEEKDAYS[self.weekday] if 0 <= self.weekday <= 6 else f"weekday {self.weekday}"
        return f"{weekday} {_fmt(self.start)}-{_fmt(self.end)}"


@dataclass(frozen=True)
class Holiday:
    """A closed local date, or only the wall-clock hours `start`-`end` of that date.

    Without hours, the holiday cancels every interval that starts on that date (a whole overnight shift
    included) and leaves alone a shift from the day before that runs into it. With hours (`start=None`
    means 00:00, `end=None` means 24:00), it closes exactly those wall-clock hours of that date, whichever
    day the interval they fall in started on.
    """

    date: date
    start: time | None = None
    end: time | None = None

    @property
    def whole_day(self) -> bool:
        """True when the holiday closes the date's shifts rather than some of its hours."""
        return self.start is None and self.end is None

    def hours_us(self) -> tuple[int, int]:
        """The closed wall-clock hours as microseconds since local midnight (end exclusive)."""
        start = 0 if self.start is None else time_us(self.start)
        end = DAY_US if self.end is None else time_us(self.end)
        return start, end

    def label(self) -> str:
        """The holiday as a person reads it: '2026-12-24' or '2026-12-24 12:00-24:00'."""
        if self.whole_day:
            return self.date.isoformat()
        return f"{self.date.isoformat()} {_fmt(self.start or time(0))}-{_fmt(self.end)}"


class CalendarParts(Protocol):
    """Anything shaped like a calendar (a spec, or a form's cleaned data), for `validate`."""

    @property
    def tz(self) -> str: ...

    @property
    def weekly(self) -> Sequence[WeeklyInterval]: ...

    @property
    def holidays(self) -> Sequence[Holiday]: ...


@dataclass(frozen=True)
class CalendarSpec:
    """A business calendar: IANA zone, weekly opening intervals, holidays. Raises InvalidCalendar if wrong.

    24/7 is 00:00-24:00 (`WeeklyInterval(d, time(0))`) on every weekday.
    """

    tz: str
    weekly: tuple[WeeklyInterval, ...]
    holidays: tuple[Holiday, ...] = ()

    def __post_init__(self) -> None:
        # Lists are accepted for convenience; tuples keep the spec hashable.
        object.__setattr__(self, "weekly", tuple(self.weekly))
        object.__setattr__(self, "holidays", tuple(self.holidays))
        problems = validate(self)
        if problems:
            raise InvalidCalendar(problems)

    def __hash__(self) -> int:
        return self._hash_value

    @cached_property
    def _hash_value(self) -> int:
        # Hashing walks every interval and holiday, and the engine looks the spec up in its cache on every
        # call; a frozen spec's hash never changes, so it is computed once.
        return hash((self.tz, self.weekly, self.holidays))


def validate(spec: CalendarParts) -> list[str]:
    """Every problem with a calendar, as messages a team lead can act on; empty when it is valid."""
    problems: list[str] = []
    problems.extend(_zone_problems(spec.tz))
    if not spec.weekly:
        problems.append(
            "The calendar has no opening hours: add at least one weekly interval (24/7 is 00:00-24:00 every day)."
        )
    valid: list[WeeklyInterval] = []
    for interval in spec.weekly:
        found = _interval_problems(interval)
        problems.extend(found)
        if not found:
            valid.append(interval)
    problems.extend(_overlaps(valid))
    for holiday in spec.holidays:
        problems.extend(_holiday_problems(holiday))
    return problems


def _zone_problems(tz: str) -> list[str]:
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        # ValueError and TypeError: keys that are not even names ('', '../etc/passwd', None).
        return [f"Unknown time zone {tz!r}: use an IANA name such as 'Europe/London' or 'America/New_York'."]
    return []


def _interval_problems(interval: WeeklyInterval) -> list[str]:
    if not isinstance(interval.weekday, int) or not 0 <= interval.weekday <= 6:
        return [f"{interval.label()}: the weekday must be 0 (Monday) to 6 (Sunday)."]
    if _aware(interval.start) or _aware(interval.end):
        return [f"{interval.label()}: times are wall-clock times in the calendar's zone; give them without a zone."]
    if interval.end is not None and interval.end == interval.start:
        return [f"{interval.label()}: start equals end; for a whole day use 00:00-24:00 (no end)."]
    return []


def _overlaps(intervals: list[WeeklyInterval]) -> list[str]:
    """One message per pair of intervals whose wall-clock hours overlap, across midnight and Sunday too."""
    placed = sorted(
        ((interval.weekday * DAY_US + time_us(interval.start), interval) for interval in intervals),
        key=lambda item: item[0],
    )
    problems: list[str] = []
    for index, (start, interval) in enumerate(placed):
        end = start + interval.length_us()
        # Sorted by start, so only the following intervals that start before this one ends can overlap it.
        for other_start, other in placed[index + 1 :]:
            if other_start >= end:
                break
            problems.append(_overlap_message(interval, other))
        # A Sunday interval past midnight runs into Monday, the start of the week.
        if end > WEEK_US:
            for other_start, other in placed[:index]:
                if other_start >= end - WEEK_US:
                    break
                problems.append(_overlap_message(interval, other))
    return problems


def _overlap_message(first: WeeklyInterval, second: WeeklyInterval) -> str:
    spill = ""
    if first.weekday != second.weekday:
        spill = f" (it runs past midnight into {WEEKDAYS[second.weekday]})"
    return f"{first.label()} overlaps {second.label()}{spill}; opening intervals must not overlap."


def _holiday_problems(holiday: Holiday) -> list[str]:
    if _aware(holiday.start) or _aware(holiday.end):
        return [
            f"Holiday {holiday.label()}: times are wall-clock times in the calendar's zone; give them without a zone."
        ]
    start, end = holiday.hours_us()
    if end < start:
        return [f"Holiday {holiday.label()}: the end is before the start (a holiday's hours stay on one date)."]
    if end == start:
        return [f"Holiday {holiday.label()}: start equals end, so it closes nothing; for the whole day give no hours."]
    return []


def _aware(value: time | None) -> bool:
    return value is not None and value.tzinfo is not None


def time_us(value: time) -> int:
    return ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000 + value.microsecond


def _fmt(value: time | None) -> str:
    if value is None:
        return "24:00"
    text = f"{value.hour:02d}:{value.minute:02d}"
    if value.second or value.microsecond:
        text += f":{value.second:02d}"
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    return text
