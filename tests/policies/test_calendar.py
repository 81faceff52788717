"""Business calendars as values: what makes one invalid, and the messages a team lead reads about it."""

from datetime import date, time
from types import SimpleNamespace

import pytest

from policies.engine import CalendarSpec, Holiday, InvalidCalendar, WeeklyInterval, validate


def parts(
    weekly: tuple[WeeklyInterval, ...] = (WeeklyInterval(0, time(9), time(17)),),
    holidays: tuple[Holiday, ...] = (),
    tz: str = "Europe/London",
) -> SimpleNamespace:
    """A calendar not yet built (as a form would hold it), for validate()."""
    return SimpleNamespace(tz=tz, weekly=weekly, holidays=holidays)


@pytest.mark.parametrize(
    ("calendar", "problems"),
    [
        (
            parts(weekly=()),
            ["The calendar has no opening hours: add at least one weekly interval (24/7 is 00:00-24:00 every day)."],
        ),
        (
            parts(tz="Europe/Lodnon"),
            ["Unknown time zone 'Europe/Lodnon': use an IANA name such as 'Europe/London' or 'America/New_York'."],
        ),
        (
            parts(tz=""),
            ["Unknown time zone '': use an IANA name such as 'Europe/London' or 'America/New_York'."],
        ),
        (
            parts(weekly=(WeeklyInterval(2, time(9), time(9)),)),
            ["Wednesday 09:00-09:00: start equals end; for a whole day use 00:00-24:00 (no end)."],
        ),
        (
            parts(weekly=(WeeklyInterval(7, time(9), time(17)),)),
            ["weekday 7 09:00-17:00: the weekday must be 0 (Monday) to 6 (Sunday)."],
        ),
        (
            parts(weekly=(WeeklyInterval(0, time(9), time(13)), WeeklyInterval(0, time(12), time(17)))),
            ["Monday 09:00-13:00 overlaps Monday 12:00-17:00; opening intervals must not overlap."],
        ),
        (
            parts(weekly=(WeeklyInterval(0, time(22), time(6)), WeeklyInterval(1, time(5), time(9)))),
            [
                "Monday 22:00-06:00 overlaps Tuesday 05:00-09:00 (it runs past midnight into Tuesday); "
                "opening intervals must not overlap."
            ],
        ),
        (
            parts(weekly=(WeeklyInterval(6, time(20), time(2, 30)), WeeklyInterval(0, time(0), time(1)))),
            [
                "Sunday 20:00-02:30 overlaps Monday 00:00-01:00 (it runs past midnight into Monday); "
                "opening intervals must not overlap."
            ],
        ),
        (
            parts(weekly=(WeeklyInterval(4, time(0)), WeeklyInterval(4, time(8), time(8, 30)))),
            ["Friday 00:00-24:00 overlaps Friday 08:00-08:30; opening intervals must not overlap."],
        ),
        (
            parts(holidays=(Holiday(date(2026, 12, 24), time(18), time(12)),)),
            ["Holiday 2026-12-24 18:00-12:00: the end is before the start (a holiday's hours stay on one date)."],
        ),
        (
            parts(holidays=(Holiday(date(2026, 12, 24), time(12), time(12)),)),
            [
                "Holiday 2026-12-24 12:00-12:00: start equals end, so it closes nothing; "
                "for the whole day give no hours."
            ],
        ),
    ],
)
def test_each_problem_has_a_message_a_team_lead_can_act_on(calendar: SimpleNamespace, problems: list[str]) -> None:
    assert validate(calendar) == problems


@pytest.mark.parametrize(
    "weekly",
    [
        tuple(WeeklyInterval(day, time(0)) for day in range(7)),  # 24/7
        tuple(WeeklyInterval(day, time(22), time(6)) for day in range(7)),  # every night
        (WeeklyInterval(0, time(9), time(12)), WeeklyInterval(0, time(12), time(17))),  # touching
        (WeeklyInterval(6, time(22), time(0)), WeeklyInterval(0, time(0), time(6))),  # Sunday into Monday
        (WeeklyInterval(3, time(9, 15, 30, 250), time(17)),),  # seconds and microseconds
    ],
)
def test_calendars_that_are_fine(weekly: tuple[WeeklyInterval, ...]) -> None:
    assert validate(parts(weekly=weekly)) == []
    assert CalendarSpec("Asia/Kolkata", weekly).weekly == weekly


def test_every_problem_is_reported_at_once() -> None:
    calendar = parts(
        tz="Mars/Olympus",
        weekly=(WeeklyInterval(1, time(10), time(10)), WeeklyInterval(2, time(8)), WeeklyInterval(2, time(9))),
        holidays=(Holiday(date(2026, 1, 1), time(3), time(1)),),
    )
    assert [problem.split(" ")[0] for problem in validate(calendar)] == ["Unknown", "Tuesday", "Wednesday", "Holiday"]


def test_building_an_invalid_calendar_raises_with_every_message() -> None:
    with pytest.raises(InvalidCalendar) as raised:
        CalendarSpec("Nowhere/City", ())
    assert len(raised.value.problems) == 2
    assert isinstance(raised.value, ValueError)
    assert "Unknown time zone 'Nowhere/City'" in str(raised.value)


def test_equal_calendars_are_equal_and_hash_alike_whatever_they_were_built_from() -> None:
    weekly = [WeeklyInterval(0, time(9), time(17))]
    first = CalendarSpec("Europe/London", weekly, [Holiday(date(2026, 12, 25))])  # type: ignore[arg-type]
    second = CalendarSpec("Europe/London", tuple(weekly), (Holiday(date(2026, 12, 25)),))
    assert first == second and hash(first) == hash(second)
    assert first != CalendarSpec("Europe/Paris", tuple(weekly))


def test_interval_lengths_and_labels() -> None:
    assert WeeklyInterval(0, time(22), time(6)).length_us() == 8 * 3600 * 10**6
    assert WeeklyInterval(0, time(0)).length_us() == 24 * 3600 * 10**6
    assert WeeklyInterval(5, time(8), None).label() == "Saturday 08:00-24:00"
    assert Holiday(date(2026, 12, 24), time(12)).label() == "2026-12-24 12:00-24:00"
    assert Holiday(date(2026, 12, 24), None, time(12)).label() == "2026-12-24 00:00-12:00"
