"""When escalation levels come due on a clock (policies/engine/escalations.py), without the database."""

from datetime import UTC, date, datetime, time, timedelta

from policies.engine import CalendarSpec, Holiday, WeeklyInterval
from policies.engine import clocks as engine
from policies.engine.escalations import Level, armed, due, level_moment, next_check

MINUTE, HOUR = timedelta(minutes=1), timedelta(hours=1)
LONDON_OFFICE = CalendarSpec(
    tz="Europe/London",
    weekly=tuple(WeeklyInterval(weekday=day, start=time(9), end=time(17)) for day in range(5)),
)
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # London is on UTC in November


def level(number: int, offset: timedelta, kind: str = "resolution") -> Level:
    return Level(id=number, number=number, kind=kind, offset=offset)


def test_a_negative_offset_counts_back_in_business_time() -> None:
    # Due Monday 09:15: thirty business minutes before is Friday 16:45, not Monday 08:45.
    due_at = datetime(2026, 11, 23, 9, 15, tzinfo=UTC)
    assert level_moment(due_at, -30 * MINUTE, LONDON_OFFICE) == datetime(2026, 11, 20, 16, 45, tzinfo=UTC)


def test_zero_and_positive_offsets_count_in_calendar_time() -> None:
    due_at = datetime(2026, 11, 20, 16, 30, tzinfo=UTC)  # Friday
    assert level_moment(due_at, timedelta(0), LONDON_OFFICE) == due_at
    # An hour after the breach is 17:30 on Friday, although the office is closed by then.
    assert level_moment(due_at, HOUR, LONDON_OFFICE) == datetime(2026, 11, 20, 17, 30, tzinfo=UTC)


def test_levels_arm_in_the_order_of_their_moments_and_skip_those_fired() -> None:
    clock = engine.start(target=4 * HOUR, now=MONDAY, calendar=LONDON_OFFICE)
    levels = [level(1, -30 * MINUTE), level(2, timedelta(0)), level(3, HOUR)]
    scheduled = armed(clock, levels, fired=set(), calendar=LONDON_OFFICE)
    assert [(item.level.number, item.moment.time()) for item in scheduled] == [
        (1, time(12, 30)),
        (2, time(13, 0)),
        (3, time(14, 0)),
    ]
    assert [item.level.number for item in armed(clock, levels, fired={1, 2}, calendar=LONDON_OFFICE)] == [3]


def test_due_gives_what_has_come_and_next_check_the_earliest_moment() -> None:
    clock = engine.start(target=HOUR, now=MONDAY, calendar=None)
    scheduled = armed(clock, [level(1, -10 * MINUTE), level(2, 5 * MINUTE)], fired=set(), calendar=None)
    assert next_check(clock, scheduled) == MONDAY + 50 * MINUTE
    assert due(scheduled, MONDAY + 50 * MINUTE - timedelta(microseconds=1)) == []
    assert [item.level.number for item in due(scheduled, MONDAY + HOUR)] == [1]
    # Once the first level fired, the breach (at the due instant) is the next thing the tick must do.
    left = armed(clock, [level(1, -10 * MINUTE), level(2, 5 * MINUTE)], fired={1}, calendar=None)
    assert next_check(clock, left) == MONDAY + HOUR
    breached = engine.observe(clock, MONDAY + HOUR)
    assert next_check(breached, armed(breached, [level(2, 5 * MINUTE)], fired=set(), calendar=None)) == (
        MONDAY + HOUR + 5 * MINUTE
    )


def test_a_moment_before_the_cycle_started_never_fires() -> None:
    # A 30-minute warning on a 20-minute target would be due before the clock started.
    clock = engine.start(target=20 * MINUTE, now=MONDAY, calendar=None)
    assert armed(clock, [level(1, -30 * MINUTE)], fired=set(), calendar=None) == []


def test_a_met_clock_cancels_and_a_paused_one_holds_its_levels() -> None:
    clock = engine.start(target=HOUR, now=MONDAY, calendar=None)
    levels = [level(1, timedelta(0))]
    met = engine.stop(clock, now=MONDAY + 10 * MINUTE, calendar=None)
    assert armed(met, levels, fired=set(), calendar=None) == []
    assert next_check(met, []) is None
    paused = engine.pause(clock, now=MONDAY + 10 * MINUTE, calendar=None)
    assert armed(paused, levels, fired=set(), calendar=None) == []
    resumed = engine.resume(paused, now=MONDAY + 2 * HOUR, calendar=None)
    [item] = armed(resumed, levels, fired=set(), calendar=None)
    assert item.moment == MONDAY + 2 * HOUR + 50 * MINUTE  # the pause moved the due instant


def test_a_holiday_is_skipped_when_counting_back() -> None:
    calendar = CalendarSpec(
        tz="Europe/London",
        weekly=LONDON_OFFICE.weekly,
        holidays=(Holiday(date(2026, 11, 20)),),  # the Friday before
    )
    due_at = datetime(2026, 11, 23, 9, 15, tzinfo=UTC)
    assert level_moment(due_at, -30 * MINUTE, calendar) == datetime(2026, 11, 19, 16, 45, tzinfo=UTC)
