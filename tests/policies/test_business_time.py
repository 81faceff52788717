"""Business time (SLA_SEMANTICS.md, "Business time"): one example per rule."""

import threading
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

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
from tests.policies.calendar_helpers import (
    ALWAYS,
    HOUR,
    LONDON,
    MINUTE,
    NEW_YORK,
    NIGHTS,
    OFFICE,
    US,
    day_of,
    local,
    utc,
    weekdays,
)

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
