"""Business calendars: importing holidays from an iCalendar (.ics) file."""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
from django.db import transaction

from policies.models import BusinessCalendar, CalendarHoliday


class IcsInvalid(ValueError):
    """The uploaded file is not an iCalendar file we can read."""


@dataclass
class HolidayImport:
    """What an import did, line by line, for the summary a team lead reads."""

    added: list[str] = field(default_factory=list)
    already_there: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{len(self.added)} added", f"{len(self.already_there)} already present"]
        if self.ignored:
            parts.append(f"{len(self.ignored)} ignored")
        return ", ".join(parts)


# A holiday file that spans more days than this is almost certainly not a list of holidays.
_MAX_DAYS_PER_EVENT = 366


def calendar_holidays_import(*, calendar: BusinessCalendar, ics: bytes) -> HolidayImport:
    """Add the events of an .ics file as holidays: all-day events close whole dates, timed events close hours."""
    try:
        parsed = icalendar.Calendar.from_ical(ics)
    except (ValueError, IndexError, KeyError) as exc:
        raise IcsInvalid(f"the file is not a readable iCalendar (.ics) file: {exc}") from exc
    zone = ZoneInfo(calendar.time_zone)
    result = HolidayImport()
    with transaction.atomic():
        for event in parsed.walk("VEVENT"):
            name = str(event.get("SUMMARY", "")).strip()[:200]
            try:
                holidays = _holidays_of(event, zone)
            except ValueError as exc:
                result.ignored.append(f"{name or 'an event'}: {exc}")
                continue
            if event.get("RRULE") is not None:
                result.ignored.append(f"{name or 'an event'}: repeats; only its first occurrence was imported")
            for day, start, end in holidays:
                label = _label(day, start, end, name)
                _holiday, created = CalendarHoliday.objects.get_or_create(
                    calendar=calendar, date=day, start=start, end=end, defaults={"name": name}
                )
                (result.added if created else result.already_there).append(label)
        if result.added:
            # The calendar's business hours changed: a new updated_at tells cached specs to reload.
            calendar.save(update_fields=["updated_at"])
    return result


def _holidays_of(event: icalendar.cal.Component, zone: ZoneInfo) -> list[tuple[date, time | None, time | None]]:
    if event.get("DTSTART") is None:
        raise ValueError("it has no start (DTSTART)")
    start = event.decoded("DTSTART")
    end = event.decoded("DTEND") if event.get("DTEND") is not None else None
    if end is None and event.get("DURATION") is not None:
        end = start + event.decoded("DURATION")
    if not isinstance(start, datetime):
        # An all-day event: DTEND is exclusive; without one it is that single day.
        last = end if isinstance(end, date) and not isinstance(end, datetime) else start + timedelta(days=1)
        days = (last - start).days
        if days > _MAX_DAYS_PER_EVENT:
            raise ValueError(f"it lasts {days} days")
        return [(start + timedelta(days=n), None, None) for n in range(max(days, 1))]
    if end is None or end <= start:
        raise ValueError("it has no end after its start")
    # Timed events close the wall-clock hours they cover in the calendar's zone, split at local midnights.
    local_start = _local(start, zone)
    local_end = _local(end, zone)
    if (local_end.date() - local_start.date()).days > _MAX_DAYS_PER_EVENT:
        raise ValueError("it lasts more than a year")
    pieces: list[tuple[date, time | None, time | None]] = []
    day = local_start.date()
    while day <= local_end.date():
        piece_start = local_start.time() if day == local_start.date() else time(0)
        piece_end = local_end.time() if day == local_end.date() else None
        if piece_end is None or piece_end > piece_start:
            pieces.append((day, None if piece_start == time(0) and piece_end is None else piece_start, piece_end))
        day += timedelta(days=1)
    # A piece from 00:00 to 24:00 is the whole day; store it as such.
    return [(d, s, e) if (s, e) != (None, None) else (d, None, None) for d, s, e in pieces]


def _local(value: datetime, zone: ZoneInfo) -> datetime:
    # A floating time (no zone) in an .ics file means local time wherever the reader is: the calendar's.
    return value.replace(tzinfo=zone) if value.tzinfo is None else value.astimezone(zone)


def _label(day: date, start: time | None, end: time | None, name: str) -> str:
    hours = (
        ""
        if start is None and end is None
        else f" {(start or time(0)):%H:%M}-{end.strftime('%H:%M') if end else '24:00'}"
    )
    return f"{day.isoformat()}{hours} {name}".rstrip()
