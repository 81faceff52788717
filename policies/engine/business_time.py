"""Business-time arithmetic on a calendar: pure functions, every instant passed in, answers in UTC.

The rule (docs: SLA_SEMANTICS.md, "Business time"): business time is real elapsed time while the calendar's
local wall clock reads "open". Opening hours are wall-clock hours on the local dates they start on; an
interval may run past midnight and still belongs to the date it starts on.

Clock changes follow from that rule, with no special cases:
- A repeated hour (clocks go back) counts as often as the clock reads it. On 2026-11-01 in New York the
  clock reads 01:00-02:00 twice, so 22:00-06:00 lasts 9 real hours, and 01:00-01:30 is open twice (01:00
  EDT to 01:30 EDT, then 01:00 EST to 01:30 EST): one hour. An interval ending inside the repeated hour
  reopens when the clock reads its hours again: 00:00-01:30 is open until 01:30 EDT, closed until the
  clock goes back to 01:00 at 02:00 EDT, open again until 01:30 EST: two hours in all.
- A skipped hour (clocks go forward) counts nothing. A boundary at a wall-clock time that does not exist
  that night takes effect at the first real instant after the gap: on 2026-03-08 in New York 02:30-05:00
  opens at 03:00 EDT (07:00 UTC) and lasts 2 hours, 01:00-02:30 closes at that same instant (1 hour), and
  22:00-06:00 lasts 7 hours. Zones with half-hour shifts (Australia/Lord_Howe) or offsets (Asia/Kolkata)
  are no different: offsets are looked up, never assumed to be whole hours.
- Instants passed in are absolute: an aware datetime with fold=1 in a zoneinfo zone is the second reading
  of a repeated wall-clock time, as Python defines it. Naive datetimes are refused.

Edges of `add_business`, chosen so that a due date is never later than the rule requires:
- The answer is the earliest instant by which the duration has elapsed. A duration that ends exactly at a
  closing time returns that closing instant (Friday 16:00 + 1 h is Friday 17:00), not the next opening.
- A positive duration from a closed instant starts counting at the next opening (Friday 16:00 + 2 h, with
  Mon-Fri 09:00-17:00, is Monday 10:00). A zero duration returns the instant itself, open or not.
- A negative duration counts backwards (a warning 30 business minutes before a due instant): the answer
  is the latest instant from which that much elapses until `start`, so a count that ends exactly at an
  opening returns that opening (Monday 09:30 - 30 min is Monday 09:00, not Friday 17:00).

Durations and instants are exact to the microsecond; nothing is rounded. Answers lie at most 20 years
(HORIZON) from `start`: farther is RangeTooLong, and a calendar open too little within 20 years (every
opening cancelled by holidays) is NoOpening, never an endless search. Instants must lie in 1800-9000.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from policies.engine.calendar import WEEK_US, CalendarSpec
from policies.engine.errors import NoOpening, RangeTooLong
from policies.engine.span_index import HORIZON_US, HORIZON_YEARS, Snapshot, index_for

HORIZON = timedelta(microseconds=HORIZON_US)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_EARLIEST = datetime(1800, 1, 1, tzinfo=UTC)
_LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def add_business(spec: CalendarSpec, start: datetime, duration: timedelta) -> datetime:
    """The instant (UTC) at which `duration` of business time has elapsed from `start`; see the module doc."""
    origin = _instant_us(start, "start")
    amount = duration // _MICROSECOND
    if amount == 0:
        return _from_us(origin)
    if abs(amount) > HORIZON_US:
        raise RangeTooLong(f"A duration of {duration} is beyond the {HORIZON_YEARS}-year horizon of business time.")
    index = index_for(spec)
    # Business time never outruns real time; the calendar's weekly share of open time says roughly how far
    # to look, so most answers need one extension of the index at most.
    reach = min(abs(amount) * WEEK_US // max(index.weekly_open_us, 1) + WEEK_US, HORIZON_US)
    while True:
        if amount > 0:
            snapshot = index.covering(origin, origin + reach)
            found = snapshot.forward(origin, amount)
        else:
            snapshot = index.covering(origin - reach, origin)
            found = snapshot.backward(origin, -amount)
        if found is not None and abs(found - origin) <= HORIZON_US:
            return _from_us(found)
        if found is not None or reach >= HORIZON_US:
            raise _no_opening(snapshot, origin, amount, start, duration)
        reach = min(reach * 2, HORIZON_US)


def business_between(spec: CalendarSpec, start: datetime, end: datetime) -> timedelta:
    """Business time elapsed from `start` to `end`; zero when `end` is not after `start`."""
    low, high = _range_us(start, end)
    if high <= low:
        return timedelta(0)
    snapshot = index_for(spec).covering(low, high)
    return timedelta(microseconds=snapshot.elapsed(high) - snapshot.elapsed(low))


def open_spans(spec: CalendarSpec, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    """The stretches of real time within [start, end) when the calendar is open, as UTC (start, end) pairs.

    Stretches that touch are joined: a 24/7 calendar yields one, across midnights and clock changes.
    """
    low, high = _range_us(start, end)
    if high <= low:
        return iter(())
    snapshot = index_for(spec).covering(low, high)
    return ((_from_us(span_start), _from_us(span_end)) for span_start, span_end in snapshot.spans(low, high))


def is_open(spec: CalendarSpec, instant: datetime) -> bool:
    """True when the calendar is open at `instant` (an opening instant is open, a closing one is not)."""
    at = _instant_us(instant, "instant")
    snapshot = index_for(spec).covering(at, at + 1)
    return snapshot.elapsed(at + 1) > snapshot.elapsed(at)


def _range_us(start: datetime, end: datetime) -> tuple[int, int]:
    low, high = _instant_us(start, "start"), _instant_us(end, "end")
    if high - low > HORIZON_US:
        raise RangeTooLong(f"From {start} to {end} is beyond the {HORIZON_YEARS}-year horizon of business time.")
    return low, high


def _instant_us(value: datetime, name: str) -> int:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (with a time zone), not {value!r}.")
    if not _EARLIEST <= value < _LATEST:
        raise RangeTooLong(f"{name} {value} is outside the years 1800-9000 that business time supports.")
    return (value - _EPOCH) // _MICROSECOND


def _from_us(instant: int) -> datetime:
    return _EPOCH + timedelta(microseconds=instant)


def _no_opening(snapshot: Snapshot, origin: int, amount: int, start: datetime, duration: timedelta) -> NoOpening:
    # What the calendar offers within the horizon, for the message: "none" points at holidays.
    if amount > 0:
        edge = min(origin + HORIZON_US, snapshot.hi)
        available = snapshot.elapsed(edge) - snapshot.elapsed(origin)
        direction = "after"
    else:
        edge = max(origin - HORIZON_US, snapshot.lo)
        available = snapshot.elapsed(origin) - snapshot.elapsed(edge)
        direction = "before"
    if available == 0:
        return NoOpening(
            f"The calendar has no opening hours within {HORIZON_YEARS} years {direction} {start}: "
            "are all its openings cancelled by holidays?"
        )
    return NoOpening(
        f"The calendar is open for only {timedelta(microseconds=available)} within {HORIZON_YEARS} years "
        f"{direction} {start}, less than the {abs(duration)} of business time asked for."
    )
