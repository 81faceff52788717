"""SLA clocks against a reference: hypothesis over random calendars, zones, pauses and targets.

The reference walks real time minute by minute and counts a minute when the clock runs (between a start or
resume and the next pause) and the calendar is open. The engine's clock, moved by the same pauses and
resumes, must have used exactly that much, and must record its breach at the first instant the count
reaches the target.
"""

from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from policies.engine import CalendarSpec
from policies.engine import clocks as engine
from tests.policies.calendar_helpers import MINUTE
from tests.policies.test_business_time_properties import PROPERTY, cases, reference_minutes


def _walk(running: list[bool], open_minutes: list[bool], target: int) -> int | None:
    """Minutes walked until `target` running open minutes were counted, or None if never."""
    counted = 0
    for walked, (runs, opened) in enumerate(zip(running, open_minutes, strict=True), start=1):
        counted += runs and opened
        if counted == target and target:
            return walked
    return None


def _running(toggles: list[int], length: int) -> list[bool]:
    """Runs from minute 0; each toggle minute pauses or resumes it, in turn."""
    runs, state, marks = [], True, set(toggles)
    for minute in range(length):
        if minute in marks:
            state = not state
        runs.append(state)
    return runs


@st.composite
def paused_cases(draw: st.DrawFn) -> tuple[CalendarSpec, datetime, int, list[int], int]:
    spec, start, end = draw(cases(least=60))
    length = (end - start) // MINUTE
    toggles = sorted(draw(st.sets(st.integers(1, length - 1), max_size=6)))
    target = draw(st.integers(1, max(1, length)))
    return spec, start, length, toggles, target


def _moved(
    spec: CalendarSpec, start: datetime, length: int, toggles: list[int], target: int
) -> tuple[engine.Clock, datetime]:
    clock = engine.start(target=target * MINUTE, now=start, calendar=spec)
    for n, minute in enumerate(toggles):
        at = start + minute * MINUTE
        move = engine.pause if n % 2 == 0 else engine.resume
        clock = move(clock, now=at, calendar=spec)
    end = start + length * MINUTE
    return engine.observe(clock, end), end


@PROPERTY
@given(paused_cases())
def test_a_paused_and_resumed_clock_uses_what_the_reference_counts(
    case: tuple[CalendarSpec, datetime, int, list[int], int],
) -> None:
    spec, start, length, toggles, target = case
    clock, end = _moved(spec, start, length, toggles, target)
    running = _running(toggles, length)
    open_minutes = reference_minutes(spec, start, end)
    counted = sum(runs and opened for runs, opened in zip(running, open_minutes, strict=True))
    assert engine.elapsed_at(clock, end, spec) == counted * MINUTE
    ongoing = end - clock.paused_at if clock.paused_at is not None else timedelta(0)
    assert clock.paused_total + ongoing == sum(not runs for runs in running) * MINUTE
    assert clock.running == running[-1]


@PROPERTY
@given(paused_cases())
def test_the_breach_is_recorded_at_the_instant_the_reference_reaches_the_target(
    case: tuple[CalendarSpec, datetime, int, list[int], int],
) -> None:
    spec, start, length, toggles, target = case
    clock, _end = _moved(spec, start, length, toggles, target)
    walked = _walk(_running(toggles, length), reference_minutes(spec, start, start + length * MINUTE), target)
    if walked is None:
        assert clock.breached_at is None and clock.state in (engine.ClockState.RUNNING, engine.ClockState.PAUSED)
    else:
        assert clock.breached_at == start + walked * MINUTE
        assert clock.state == engine.ClockState.BREACHED


@PROPERTY
@given(paused_cases(), st.integers(1, 3000), st.data())
def test_a_new_target_applies_to_the_time_already_used(
    case: tuple[CalendarSpec, datetime, int, list[int], int], new_target: int, data: st.DataObject
) -> None:
    spec, start, length, toggles, target = case
    clock, end = _moved(spec, start, length, toggles, target)
    later = end + data.draw(st.integers(0, 600)) * MINUTE
    retargeted = engine.retarget(clock, target=new_target * MINUTE, now=later, calendar=spec)
    clock = engine.observe(clock, later)
    if clock.breached_at is not None:
        assert retargeted == clock  # a breach keeps its record
        return
    used = engine.elapsed_at(clock, later, spec)
    assert retargeted.target == new_target * MINUTE
    assert engine.elapsed_at(retargeted, later, spec) == used
    if used >= new_target * MINUTE:
        assert retargeted.breached_at is not None and retargeted.breached_at <= later
    elif retargeted.running:
        # Still to go: the new due instant is where the rest of the new target runs out.
        assert retargeted.due_at is not None
        assert engine.between(spec, later, retargeted.due_at) == new_target * MINUTE - used
    else:
        assert retargeted.due_at is None and retargeted.state == engine.ClockState.PAUSED


@PROPERTY
@given(paused_cases())
def test_the_warning_starts_when_a_fifth_of_the_target_is_left(
    case: tuple[CalendarSpec, datetime, int, list[int], int],
) -> None:
    spec, start, _length, _toggles, target = case
    clock = engine.start(target=target * MINUTE, now=start, calendar=spec)
    assert clock.warn_at is not None and clock.due_at is not None
    assert engine.between(spec, start, clock.warn_at) == target * MINUTE * 4 / 5
    assert engine.between(spec, clock.warn_at, clock.due_at) == target * MINUTE / 5
