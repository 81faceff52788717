"""Business time against a reference: hypothesis over random calendars, zones and instants.

The reference walks real time minute by minute, reads the local wall clock at each minute and asks whether
the calendar is open then: the rule itself, with no cleverness. Random calendars keep every boundary on a
15-minute grid and the zones' offsets are whole minutes, so a minute is either wholly open or wholly
closed and minute steps are exact.
"""

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from policies.engine import (
    CalendarSpec,
    Holiday,
    WeeklyInterval,
    add_business,
    business_between,
    is_open,
    open_spans,
)
from policies.engine.span_index import SpanIndex
from tests.policies.calendar_helpers import ALWAYS, HOUR, MINUTE, US, weekdays

# --- The reference and the properties ------------------------------------------------------------------------


def reference_is_open(spec: CalendarSpec, wall: datetime) -> bool:
    """Is the calendar open when the local clock reads `wall` (naive)? Straight from SLA_SEMANTICS."""
    for holiday in spec.holidays:
        if holiday.date == wall.date() and (holiday.start is not None or holiday.end is not None):
            closes = datetime.combine(holiday.date, holiday.start or time(0))
            reopens = datetime.combine(holiday.date + timedelta(days=1), time(0))
            if holiday.end is not None:
                reopens = datetime.combine(holiday.date, holiday.end)
            if closes <= wall < reopens:
                return False
    whole_days = {holiday.date for holiday in spec.holidays if holiday.start is None and holiday.end is None}
    # An interval belongs to the date it starts on: today's, or yesterday's running past midnight.
    for day in (wall.date(), wall.date() - timedelta(days=1)):
        if day in whole_days:
            continue
        for interval in spec.weekly:
            if interval.weekday != day.weekday():
                continue
            opens = datetime.combine(day, interval.start)
            if interval.end is None:
                closes = datetime.combine(day + timedelta(days=1), time(0))
            elif interval.end > interval.start:
                closes = datetime.combine(day, interval.end)
            else:
                closes = datetime.combine(day + timedelta(days=1), interval.end)
            if opens <= wall < closes:
                return True
    return False


def reference_minutes(spec: CalendarSpec, start: datetime, end: datetime) -> list[bool]:
    """Open or not, for each real minute from `start` to `end` (UTC, whole minutes)."""
    zone = ZoneInfo(spec.tz)
    count = (end - start) // MINUTE
    return [reference_is_open(spec, (start + n * MINUTE).astimezone(zone).replace(tzinfo=None)) for n in range(count)]


ZONES = (
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "UTC",
    "Pacific/Chatham",  # +12:45 and +13:45
    "America/St_Johns",  # -03:30 with DST
)


def _transition_days(zone_name: str) -> list[date]:
    """The dates in 2026 on which the zone's offset changes (2026-03-08, 2026-11-01 for New York...)."""
    zone, days = ZoneInfo(zone_name), []
    for n in range(365):
        day = date(2026, 1, 1) + timedelta(days=n)
        before, after = (datetime.combine(day + timedelta(days=k), time(12), zone).utcoffset() for k in (-1, 0))
        if before != after:
            days.append(day)
    return days


TRANSITION_DAYS = {zone: _transition_days(zone) for zone in ZONES}
SLOTS_PER_DAY = 96  # 15-minute slots
SLOTS_PER_WEEK = 7 * SLOTS_PER_DAY
# Clocks change early on Sunday in every DST zone above: boundaries there are the interesting ones.
CHANGE_SLOTS = [6 * SLOTS_PER_DAY + slot for slot in range(16)] + [5 * SLOTS_PER_DAY + slot for slot in range(88, 96)]


def _slot_time(slot: int) -> time:
    return time(slot // 4, slot % 4 * 15)


def _intervals_between(start: int, end: int) -> list[WeeklyInterval]:
    """Weekly intervals covering week slots [start, end) (end may pass the week's end): each under 24 h."""
    intervals = []
    while start < end:
        length = min(end - start, SLOTS_PER_DAY - 1 - start % 3)  # vary where long stretches are cut
        weekday, first = divmod(start % SLOTS_PER_WEEK, SLOTS_PER_DAY)
        last = first + length
        closing = None if last == SLOTS_PER_DAY and first % 2 else _slot_time(last % SLOTS_PER_DAY)
        intervals.append(WeeklyInterval(weekday, _slot_time(first), closing))
        start += length
    return intervals


@st.composite
def calendars(draw: st.DrawFn, zone: str, around: date) -> CalendarSpec:
    shape = draw(st.sampled_from(["random", "random", "random", "always", "office", "nights"]))
    if shape == "always":
        weekly = ALWAYS
    elif shape == "office":
        weekly = weekdays(time(9), time(17))
    elif shape == "nights":
        weekly = weekdays(time(22), time(6), draw(st.sampled_from([range(7), range(5), range(4, 7)])))
    else:
        cut = st.one_of(st.integers(0, SLOTS_PER_WEEK - 1), st.sampled_from(CHANGE_SLOTS))
        cuts = sorted(draw(st.sets(cut, min_size=2, max_size=12)))
        cuts = cuts[: len(cuts) // 2 * 2]
        if draw(st.booleans()):  # the last stretch wraps from Sunday into Monday
            cuts = [*cuts[1:], cuts[0] + SLOTS_PER_WEEK]
        pairs = zip(cuts[::2], cuts[1::2], strict=True)
        weekly = tuple(interval for start, end in pairs for interval in _intervals_between(start, end))
    holidays = []
    for _ in range(draw(st.integers(0, 3))):
        day = around + timedelta(days=draw(st.integers(-2, 3)))
        hours = draw(st.one_of(st.none(), st.tuples(st.integers(0, 95), st.integers(1, 96))))
        if hours is None or hours[0] >= hours[1]:
            holidays.append(Holiday(day))
        else:
            start = None if hours[0] == 0 and draw(st.booleans()) else _slot_time(hours[0])
            holidays.append(Holiday(day, start, None if hours[1] == SLOTS_PER_DAY else _slot_time(hours[1])))
    return CalendarSpec(zone, weekly, tuple(holidays))


@st.composite
def cases(draw: st.DrawFn, days: int = 3, least: int = 0) -> tuple[CalendarSpec, datetime, datetime]:
    """A random calendar and a window of `least` minutes to `days`, on whole minutes, mostly near a clock change."""
    zone = draw(st.sampled_from(ZONES))
    special = TRANSITION_DAYS[zone]
    if special and draw(st.integers(0, 3)):
        around = draw(st.sampled_from(special))
    else:
        around = date(2026, 1, 1) + timedelta(days=draw(st.integers(0, 364)))
    spec = draw(calendars(zone, around))
    start = datetime.combine(around, time(0), UTC) + draw(st.integers(-36 * 60, 36 * 60)) * MINUTE
    return spec, start, start + draw(st.integers(least, days * 24 * 60)) * MINUTE


PROPERTY = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,  # the same examples on every run and machine
    database=None,  # nothing written into the project tree
    suppress_health_check=[HealthCheck.too_slow],
)


@PROPERTY
@given(cases())
def test_business_between_matches_the_reference(case: tuple[CalendarSpec, datetime, datetime]) -> None:
    spec, start, end = case
    assert business_between(spec, start, end) == sum(reference_minutes(spec, start, end)) * MINUTE


@PROPERTY
@given(cases(least=24 * 60), st.data())
def test_add_business_matches_the_reference_forwards_and_backwards(
    case: tuple[CalendarSpec, datetime, datetime], data: st.DataObject
) -> None:
    spec, start, end = case
    minutes = reference_minutes(spec, start, end)
    assume(any(minutes))
    wanted = data.draw(st.integers(1, sum(minutes)))
    assert add_business(spec, start, wanted * MINUTE) == start + _count_until(minutes, wanted) * MINUTE
    backwards = _count_until(minutes[::-1], wanted)
    assert add_business(spec, end, -wanted * MINUTE) == end - backwards * MINUTE


def _count_until(open_minutes: list[bool], wanted: int) -> int:
    """How many minutes of the walk it takes until `wanted` of them were open (the earliest instant)."""
    seen = 0
    for walked, opened in enumerate(open_minutes, start=1):
        seen += opened
        if seen == wanted:
            return walked
    raise AssertionError("the walk never counted that much")


@PROPERTY
@given(cases(days=1))
def test_is_open_and_open_spans_match_the_reference(case: tuple[CalendarSpec, datetime, datetime]) -> None:
    spec, start, end = case
    minutes = reference_minutes(spec, start, end)
    assert [is_open(spec, start + n * MINUTE) for n in range(len(minutes))] == minutes
    spans = list(open_spans(spec, start, end))
    assert all(opens < closes for opens, closes in spans)
    # Sorted, and apart: stretches that touch are one.
    assert all(closes < reopens for (_, closes), (reopens, _) in pairwise(spans))
    assert sum((b - a for a, b in spans), timedelta(0)) == sum(minutes) * MINUTE


def to_us(value: datetime) -> int:
    return (value - datetime(1970, 1, 1, tzinfo=UTC)) // US


def _microseconds(limit: timedelta) -> st.SearchStrategy[timedelta]:
    return st.integers(0, limit // US).map(lambda n: n * US)


@PROPERTY
@given(cases(days=0), _microseconds(timedelta(days=60)), _microseconds(timedelta(days=60)))
def test_adding_and_measuring_agree_to_the_microsecond(
    case: tuple[CalendarSpec, datetime, datetime], shift: timedelta, span: timedelta
) -> None:
    spec, start, _ = case
    start += shift % HOUR  # off the minute grid
    end = start + span
    elapsed = business_between(spec, start, end)
    due = add_business(spec, start, elapsed)
    assert due <= end and business_between(spec, start, due) == elapsed
    if elapsed:
        # The earliest such instant, and, counting back from `end`, the latest.
        assert business_between(spec, start, due - US) < elapsed
        back = add_business(spec, end, -elapsed)
        assert start <= back and business_between(spec, back, end) == elapsed
        assert business_between(spec, back + US, end) < elapsed


@PROPERTY
@given(cases(days=0), st.lists(_microseconds(timedelta(days=40)), min_size=3, max_size=3))
def test_business_time_adds_up_and_never_decreases(
    case: tuple[CalendarSpec, datetime, datetime], offsets: list[timedelta]
) -> None:
    spec, start, _ = case
    a, b, c = (start + offset for offset in sorted(offsets))
    assert business_between(spec, a, b) + business_between(spec, b, c) == business_between(spec, a, c)
    assert business_between(spec, a, b) <= business_between(spec, a, c) <= c - a
    first, second = sorted(offsets)[:2]
    assert add_business(spec, a, first) <= add_business(spec, a, second)
    assert add_business(spec, a, -first) >= add_business(spec, a, -second)


@PROPERTY
@given(cases(days=0), st.integers(3600, 400 * 3600), st.lists(st.integers(-3000, 3000), min_size=1, max_size=6))
def test_an_index_built_in_odd_chunks_in_any_order_agrees(
    case: tuple[CalendarSpec, datetime, datetime], chunk_s: int, hours: list[int]
) -> None:
    # Chunks of any size, extended forwards and backwards in any order, give the answers of a fresh index:
    # a span cut at a chunk's edge is joined again.
    spec, start, _ = case
    odd = SpanIndex(spec, chunk_us=chunk_s * 1_000_000)
    for offset in hours:
        low, high = sorted((start, start + offset * HOUR))
        snapshot = odd.covering(to_us(low), to_us(high))
        assert timedelta(microseconds=snapshot.elapsed(to_us(high)) - snapshot.elapsed(to_us(low))) == (
            business_between(spec, low, high)
        )
