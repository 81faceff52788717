"""The instants a calendar is open: its wall-clock opening hours, carried back to real (UTC) time.

Two steps. First the calendar's open set on the local wall clock: weekly intervals placed on local dates,
whole-day holidays dropping the intervals that start on them, hours holidays cut out of what remains.
Then its preimage in real time: an instant is open when the local clock reads an open wall-clock time. The
zone's offset is constant between transitions (zone_offsets), and there the local clock is real time plus
that offset, so each stretch of constant offset maps wall-clock intervals to real ones by one subtraction.
This is what makes a repeated hour count twice (two stretches read the same wall-clock times) and a skipped
hour count nothing (no stretch reads it).

Both clocks are integers: microseconds since 1970-01-01 00:00, UTC for real time, on the wall clock for
local time.
"""

from bisect import bisect_right
from datetime import date
from zoneinfo import ZoneInfo

from policies.engine.calendar import DAY_US, CalendarSpec, time_us
from policies.engine.zone_offsets import offset_pieces

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()

Span = tuple[int, int]


class WeekPlan:
    """A calendar prepared for placing on dates: intervals per weekday, holidays by date ordinal."""

    def __init__(self, spec: CalendarSpec) -> None:
        self.zone = ZoneInfo(spec.tz)
        by_weekday: list[list[Span]] = [[] for _ in range(7)]
        for interval in spec.weekly:
            by_weekday[interval.weekday].append((time_us(interval.start), interval.length_us()))
        self.by_weekday: tuple[tuple[Span, ...], ...] = tuple(tuple(sorted(day)) for day in by_weekday)
        self.closed_dates = frozenset(holiday.date.toordinal() for holiday in spec.holidays if holiday.whole_day)
        closed_hours: dict[int, list[Span]] = {}
        for holiday in spec.holidays:
            if not holiday.whole_day:
                closed_hours.setdefault(holiday.date.toordinal(), []).append(holiday.hours_us())
        self.closed_hours = closed_hours

    def real_spans(self, start_us: int, end_us: int) -> list[Span]:
        """The open real-time spans within [start_us, end_us), sorted, merged where they touch."""
        pieces = offset_pieces(self.zone, start_us, end_us)
        wall = self.wall_spans(
            min(piece_start + offset for piece_start, _, offset in pieces),
            max(piece_end + offset for _, piece_end, offset in pieces),
        )
        wall_ends = [wall_end for _, wall_end in wall]
        spans: list[Span] = []
        for piece_start, piece_end, offset in pieces:
            # Wall-clock spans ending after this stretch's first local reading, until its last one.
            index = bisect_right(wall_ends, piece_start + offset)
            while index < len(wall) and wall[index][0] < piece_end + offset:
                wall_start, wall_end = wall[index]
                _append_merged(spans, max(piece_start, wall_start - offset), min(piece_end, wall_end - offset))
                index += 1
        return spans

    def wall_spans(self, start_us: int, end_us: int) -> list[Span]:
        """The open wall-clock spans that touch [start_us, end_us) on the local clock, sorted and merged.

        Exact within [start_us, end_us) only: the last one may run on past `end_us`, uncut by holidays there.
        """
        # An interval lasts at most 24 hours, so one starting the day before the first date can reach into it.
        first = start_us // DAY_US + _EPOCH_ORDINAL - 1
        last = (end_us - 1) // DAY_US + _EPOCH_ORDINAL
        opened: list[Span] = []
        for ordinal in range(first, last + 1):
            if ordinal in self.closed_dates:
                continue
            midnight = (ordinal - _EPOCH_ORDINAL) * DAY_US
            # date.weekday() is (ordinal + 6) % 7: 0001-01-01, ordinal 1, was a Monday.
            for offset, length in self.by_weekday[(ordinal + 6) % 7]:
                # Intervals of one date are sorted, and all start before the next date's: no sort needed.
                _append_merged(opened, midnight + offset, midnight + offset + length)
        closed: list[Span] = []
        # Hours holidays close wall-clock hours whichever date's interval runs through them. What an overnight
        # shift of `last` opens on the day after lies past `end_us`, so that day's hours need no closing.
        for ordinal in range(first, last + 1):
            midnight = (ordinal - _EPOCH_ORDINAL) * DAY_US
            for hours_start, hours_end in sorted(self.closed_hours.get(ordinal, ())):
                _append_merged(closed, midnight + hours_start, midnight + hours_end)
        return _subtract(opened, closed) if closed else opened


def _append_merged(spans: list[Span], start: int, end: int) -> None:
    """Append [start, end) to sorted spans, joining it to the last one when they touch or overlap."""
    if start >= end:
        return
    if spans and start <= spans[-1][1]:
        if end > spans[-1][1]:
            spans[-1] = (spans[-1][0], end)
        return
    spans.append((start, end))


def _subtract(opened: list[Span], closed: list[Span]) -> list[Span]:
    """The parts of sorted, disjoint `opened` outside sorted, disjoint `closed`."""
    result: list[Span] = []
    index = 0
    for start, end in opened:
        while index < len(closed) and closed[index][1] <= start:
            index += 1
        cursor = start
        probe = index
        while probe < len(closed) and closed[probe][0] < end:
            closed_start, closed_end = closed[probe]
            if closed_start > cursor:
                result.append((cursor, closed_start))
            cursor = max(cursor, closed_end)
            probe += 1
        if cursor < end:
            result.append((cursor, end))
    return result
