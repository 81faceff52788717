"""Business time (SLA_SEMANTICS.md, "Business time"): one example per rule, then properties against a reference.

The reference walks real time minute by minute, reads the local wall clock at each minute and asks whether
the calendar is open then: the rule itself, with no cleverness. Random calendars keep every boundary on a
15-minute grid and the zones' offsets are whole minutes, so a minute is either wholly open or wholly
closed and minute steps are exact.
"""

import threading
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from policies.engine import (
    HORIZON,
    CalendarSpec,
    Holiday,
    NoOpening,
    RangeTooLong,
    WeeklyInterval,
    add_business,
    business_between,
    is_open,
    open_spans,
)
from policies.engine.span_index import SpanIndex

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


# --- The rules, one example each ------------------------------------------------------------------------------


def test_two_business_hours_from_friday_16_00_is_monday_10_00() -> None:
    due = add_business(OFFICE, local(LONDON, 2026, 6, 5, 16), 2 * HOUR)
    assert due == local(LONDON, 2026, 6, 8, 10)
    assert due.tzinfo is UTC


def test_a_count_ending_at_a_closing_time_is_due_at_the_closing_time_not_the_next_opening() -> None:
    assert add_business(OFFICE, local(LONDON, 2026, 6, 5, 16), HOUR) == local(LONDON, 2026, 6, 5, 17)


def test_an_instant_outside_opening_hours_starts_counting_at_the_next_opening() -> None:
    saturday = local(LONDON, 2026, 6, 6, 12)
    assert add_business(OFFICE, saturday, 30 * MINUTE) == local(LONDON, 2026, 6, 8, 9, 30)
    assert business_between(OFFICE, saturday, local(LONDON, 2026, 6, 8, 9, 30)) == 30 * MINUTE


def test_a_zero_duration_is_due_at_once_even_when_closed() -> None:
    saturday = local(LONDON, 2026, 6, 6, 12)
    assert add_business(OFFICE, saturday, timedelta(0)) == saturday


def test_a_negative_duration_counts_back_and_stops_at_an_opening() -> None:
    monday = local(LONDON, 2026, 6, 8, 9, 30)
    assert add_business(OFFICE, monday, -30 * MINUTE) == local(LONDON, 2026, 6, 8, 9)
    assert add_business(OFFICE, monday, -45 * MINUTE) == local(LONDON, 2026, 6, 5, 16, 45)


def test_business_between_is_zero_when_the_end_is_not_after_the_start() -> None:
    monday = local(LONDON, 2026, 6, 8, 10)
    assert business_between(OFFICE, monday, monday) == timedelta(0)
    assert business_between(OFFICE, monday, monday - HOUR) == timedelta(0)


def test_opening_hours_are_wall_clock_hours_whatever_the_offset() -> None:
    # 09:00-17:00 in London is 08:00-16:00 UTC in summer and 09:00-17:00 UTC in winter.
    assert list(open_spans(OFFICE, datetime(2026, 7, 6, tzinfo=UTC), datetime(2026, 7, 7, tzinfo=UTC))) == [
        (datetime(2026, 7, 6, 8, tzinfo=UTC), datetime(2026, 7, 6, 16, tzinfo=UTC))
    ]
    kolkata = CalendarSpec("Asia/Kolkata", weekdays(time(9), time(17)))
    assert list(open_spans(kolkata, datetime(2026, 7, 6, tzinfo=UTC), datetime(2026, 7, 7, tzinfo=UTC))) == [
        (datetime(2026, 7, 6, 3, 30, tzinfo=UTC), datetime(2026, 7, 6, 11, 30, tzinfo=UTC))
    ]


@pytest.mark.parametrize(
    ("zone", "night", "hours"),
    [
        ("America/New_York", date(2026, 10, 31), 9),  # clocks go back at 02:00 on Sunday 1 November
        ("America/New_York", date(2026, 3, 7), 7),  # clocks go forward at 02:00 on Sunday 8 March
        ("America/New_York", date(2026, 6, 6), 8),
        ("Europe/London", date(2026, 10, 24), 9),  # back at 02:00 BST on Sunday 25 October
        ("Europe/London", date(2026, 3, 28), 7),  # forward at 01:00 GMT on Sunday 29 March
        ("Europe/London", date(2026, 6, 6), 8),
    ],
)
def test_an_overnight_shift_lasts_the_real_time_the_clock_reads_open(zone: str, night: date, hours: int) -> None:
    assert day_of(CalendarSpec(zone, NIGHTS), night) == timedelta(hours=hours)


@pytest.mark.parametrize(
    ("zone", "day", "length"),
    [
        ("America/New_York", date(2026, 11, 1), timedelta(hours=25)),
        ("America/New_York", date(2026, 3, 8), timedelta(hours=23)),
        ("Australia/Lord_Howe", date(2026, 4, 5), timedelta(hours=24, minutes=30)),  # back half an hour
        ("Australia/Lord_Howe", date(2026, 10, 4), timedelta(hours=23, minutes=30)),  # forward half an hour
        ("Asia/Kolkata", date(2026, 3, 8), timedelta(hours=24)),
        ("UTC", date(2026, 3, 8), timedelta(hours=24)),
    ],
)
def test_a_local_day_of_24_7_lasts_as_long_as_it_really_does(zone: str, day: date, length: timedelta) -> None:
    tz = ZoneInfo(zone)
    start, end = datetime.combine(day, time(0), tz), datetime.combine(day + timedelta(days=1), time(0), tz)
    assert business_between(CalendarSpec(zone, ALWAYS), start, end) == length


def test_24_7_is_elapsed_time_and_one_span_across_midnights_and_clock_changes() -> None:
    always = CalendarSpec("America/New_York", ALWAYS)
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    assert business_between(always, start, end) == end - start
    assert list(open_spans(always, start, end)) == [(start, end)]
    assert add_business(always, start, timedelta(days=300, seconds=1)) == start + timedelta(days=300, seconds=1)


def test_the_repeated_hour_counts_each_time_the_clock_reads_it() -> None:
    sunday_01_to_01_30 = CalendarSpec("America/New_York", (WeeklyInterval(6, time(1), time(1, 30)),))
    assert day_of(sunday_01_to_01_30, date(2026, 10, 31)) == HOUR
    # Closed at 01:30 EDT; the clock goes back to 01:00, which reads open again until 01:30 EST.
    midnight_to_01_30 = CalendarSpec("America/New_York", (WeeklyInterval(6, time(0), time(1, 30)),))
    assert day_of(midnight_to_01_30, date(2026, 10, 31)) == 2 * HOUR
    assert list(open_spans(midnight_to_01_30, local(NEW_YORK, 2026, 11, 1), local(NEW_YORK, 2026, 11, 2))) == [
        (utc(2026, 11, 1, 4), utc(2026, 11, 1, 5, 30)),  # 00:00 to 01:30 EDT
        (utc(2026, 11, 1, 6), utc(2026, 11, 1, 6, 30)),  # 01:00 to 01:30 EST
    ]
    # The same instants, as Python spells the second reading of a repeated time.
    assert utc(2026, 11, 1, 6) == local(NEW_YORK, 2026, 11, 1, 1, fold=1).astimezone(UTC)


def test_a_boundary_in_the_skipped_hour_takes_effect_at_the_first_real_instant_after_it() -> None:
    gap_end = datetime(2026, 3, 8, 7, tzinfo=UTC)  # 03:00 EDT, the instant after 01:59:59.999999 EST
    opens_in_gap = CalendarSpec("America/New_York", (WeeklyInterval(6, time(2, 30), time(5)),))
    closes_in_gap = CalendarSpec("America/New_York", (WeeklyInterval(6, time(1), time(2, 30)),))
    inside_gap = CalendarSpec("America/New_York", (WeeklyInterval(6, time(2), time(2, 45)),))
    day = (local(NEW_YORK, 2026, 3, 8), local(NEW_YORK, 2026, 3, 9))
    assert list(open_spans(opens_in_gap, *day)) == [(gap_end, local(NEW_YORK, 2026, 3, 8, 5))]
    assert list(open_spans(closes_in_gap, *day)) == [(local(NEW_YORK, 2026, 3, 8, 1), gap_end)]
    assert list(open_spans(inside_gap, *day)) == []


def test_lord_howe_half_hour_shifts_move_opening_hours_by_half_an_hour() -> None:
    small_hours = CalendarSpec("Australia/Lord_Howe", (WeeklyInterval(6, time(1), time(3)),))
    assert day_of(small_hours, date(2026, 4, 4)) == timedelta(hours=2, minutes=30)  # 01:30-02:00 twice
    assert day_of(small_hours, date(2026, 10, 3)) == timedelta(hours=1, minutes=30)  # 02:00-02:30 skipped


def test_a_holiday_cancels_the_whole_shift_that_starts_on_it_but_not_the_one_running_into_it() -> None:
    holiday = date(2026, 12, 29)  # a Tuesday
    nights = CalendarSpec("Europe/London", weekdays(time(22), time(6)), (Holiday(holiday),))
    assert day_of(nights, holiday - timedelta(days=1)) == 8 * HOUR  # Monday 22:00 to Tuesday 06:00, whole
    assert day_of(nights, holiday) == timedelta(0)  # Tuesday 22:00 to Wednesday 06:00, cancelled
    assert day_of(nights, holiday + timedelta(days=1)) == 8 * HOUR


def test_a_holiday_with_hours_closes_just_those_hours_of_its_date() -> None:
    eve = CalendarSpec("Europe/London", OFFICE.weekly, (Holiday(date(2026, 12, 24), time(12)),))
    assert day_of(eve, date(2026, 12, 23)) == 8 * HOUR  # Wednesday 12-17, Thursday 09-12: untouched
    assert day_of(eve, date(2026, 12, 24)) == 3 * HOUR  # Thursday afternoon closed; Friday 09-12
    assert add_business(eve, local(LONDON, 2026, 12, 24, 11), 2 * HOUR) == local(LONDON, 2026, 12, 25, 10)


def test_a_holiday_with_hours_closes_the_part_of_an_overnight_shift_that_falls_in_them() -> None:
    nights = CalendarSpec("Europe/London", NIGHTS, (Holiday(date(2026, 12, 25), None, time(3)),))
    assert day_of(nights, date(2026, 12, 24)) == 5 * HOUR  # 22:00-24:00, then 03:00-06:00


def test_a_whole_day_holiday_and_one_closing_00_00_to_24_00_differ_only_for_overnight_shifts() -> None:
    holiday = date(2026, 12, 25)
    whole = CalendarSpec("Europe/London", NIGHTS, (Holiday(holiday),))
    hours = CalendarSpec("Europe/London", NIGHTS, (Holiday(holiday, time(0), None),))
    # The whole day cancels the shift starting on the 25th; hours close the wall clock of the 25th.
    assert (day_of(whole, date(2026, 12, 24)), day_of(whole, holiday)) == (8 * HOUR, timedelta(0))
    assert (day_of(hours, date(2026, 12, 24)), day_of(hours, holiday)) == (2 * HOUR, 6 * HOUR)


def test_durations_are_exact_to_the_microsecond() -> None:
    friday = local(LONDON, 2026, 6, 5, 16, 59, 59)
    assert add_business(OFFICE, friday, timedelta(seconds=1, microseconds=5)) == local(LONDON, 2026, 6, 8, 9) + 5 * US
    assert business_between(OFFICE, friday + 7 * US, local(LONDON, 2026, 6, 8, 9, 0, 1)) == timedelta(
        seconds=1, microseconds=999_993
    )


def test_instants_in_any_zone_are_the_same_instants() -> None:
    in_new_york = local(LONDON, 2026, 6, 5, 16).astimezone(NEW_YORK)
    assert add_business(OFFICE, in_new_york, 2 * HOUR) == local(LONDON, 2026, 6, 8, 10)


def test_is_open_includes_the_opening_instant_and_excludes_the_closing_one() -> None:
    assert is_open(OFFICE, local(LONDON, 2026, 6, 5, 9))
    assert not is_open(OFFICE, local(LONDON, 2026, 6, 5, 17))
    assert is_open(OFFICE, local(LONDON, 2026, 6, 5, 17) - US)


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="aware datetime"):
        add_business(OFFICE, datetime(2026, 6, 5, 16), HOUR)


def test_ranges_beyond_the_horizon_fail_clearly() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(RangeTooLong, match="20-year horizon"):
        business_between(OFFICE, start, start + HORIZON + US)
    with pytest.raises(RangeTooLong, match="20-year horizon"):
        add_business(OFFICE, start, HORIZON + US)
    with pytest.raises(RangeTooLong, match="1800-9000"):
        business_between(OFFICE, datetime(1700, 1, 1, tzinfo=UTC), start)


def test_a_calendar_whose_openings_are_all_cancelled_fails_instead_of_searching_forever() -> None:
    mondays = [date(2026, 1, 5) + timedelta(weeks=week) for week in range(1100)]  # 21 years of Mondays
    never = CalendarSpec("Europe/London", (WeeklyInterval(0, time(9), time(10)),), tuple(map(Holiday, mondays)))
    with pytest.raises(NoOpening, match="no opening hours within 20 years after"):
        add_business(never, datetime(2026, 1, 1, tzinfo=UTC), MINUTE)
    with pytest.raises(NoOpening, match="no opening hours within 20 years before"):
        add_business(never, datetime(2047, 1, 1, tzinfo=UTC), -MINUTE)


def test_a_duration_the_calendar_cannot_reach_within_the_horizon_fails() -> None:
    quarter_hour = CalendarSpec("Europe/London", (WeeklyInterval(0, time(9), time(9, 15)),))
    with pytest.raises(NoOpening, match="open for only"):
        add_business(quarter_hour, datetime(2026, 1, 1, tzinfo=UTC), timedelta(days=400))


def test_threads_sharing_a_calendar_agree_with_one_thread() -> None:
    spec = CalendarSpec("America/New_York", weekdays(time(8), time(20), range(6)), (Holiday(date(2027, 7, 5)),))
    starts = [datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=37 * n, hours=n) for n in range(40)]
    # Threads each start far apart so that they extend the fresh index in both directions at once.
    results: dict[int, list[datetime]] = {}

    def work(worker: int) -> None:
        order = starts[worker % 4 :] + starts[: worker % 4]
        results[worker] = sorted(add_business(spec, start, timedelta(hours=300)) for start in order[::-1])

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # The same calendar under another cache key (a holiday long past), so its index is built by this thread.
    fresh = CalendarSpec("America/New_York", spec.weekly, (*spec.holidays, Holiday(date(1999, 1, 1))))
    expected = sorted(add_business(fresh, start, timedelta(hours=300)) for start in starts)
    assert all(result == expected for result in results.values())


def test_an_index_far_from_what_it_covers_starts_afresh_so_memory_stays_bounded() -> None:
    index = SpanIndex(OFFICE)
    year_us = 365 * 86_400_000_000
    near = index.covering(0, 10 * year_us)
    far = index.covering(50 * year_us, 50 * year_us + 1)
    assert near.hi - near.lo <= 11 * year_us
    assert far.lo >= near.hi and far.hi - far.lo <= year_us


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
