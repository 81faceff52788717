"""SLA clocks, rule by rule (SLA_SEMANTICS.md, "Clocks"), on the Mon-Fri 09:00-17:00 London office calendar."""

from datetime import timedelta

from policies.engine import clocks as engine
from policies.engine.clocks import ClockState
from tests.policies.calendar_helpers import HOUR, LONDON, MINUTE, OFFICE, local

# 2026-11-20 is a Friday; 2026-11-23 the Monday after.
FRIDAY_16 = local(LONDON, 2026, 11, 20, 16)
MONDAY_9 = local(LONDON, 2026, 11, 23, 9)
MONDAY_10 = local(LONDON, 2026, 11, 23, 10)


def test_a_clock_counts_business_hours_to_its_due_instant() -> None:
    clock = engine.start(target=2 * HOUR, now=FRIDAY_16, calendar=OFFICE)
    assert clock.state == ClockState.RUNNING
    assert clock.due_at == MONDAY_10
    # The warning starts when a fifth of the target is left: 96 business minutes in, Monday 09:36.
    assert clock.warn_at == local(LONDON, 2026, 11, 23, 9, 36)
    assert clock.next_check_at == MONDAY_10


def test_without_a_calendar_every_hour_counts() -> None:
    clock = engine.start(target=2 * HOUR, now=FRIDAY_16, calendar=None)
    assert clock.due_at == FRIDAY_16 + 2 * HOUR


def test_a_stop_before_the_due_instant_is_met() -> None:
    clock = engine.start(target=2 * HOUR, now=FRIDAY_16, calendar=OFFICE)
    stopped = engine.stop(clock, now=MONDAY_9 + 30 * MINUTE, calendar=OFFICE)
    assert stopped.state == ClockState.MET
    assert stopped.elapsed == 90 * MINUTE
    assert stopped.next_check_at is None and stopped.late_by(OFFICE) is None


def test_a_stop_after_the_due_instant_is_breached_and_met_late_by_business_time() -> None:
    clock = engine.start(target=2 * HOUR, now=FRIDAY_16, calendar=OFFICE)
    stopped = engine.stop(clock, now=MONDAY_10 + 25 * MINUTE, calendar=OFFICE)
    assert stopped.state == ClockState.BREACHED
    assert stopped.breached_at == MONDAY_10
    assert stopped.late_by(OFFICE) == 25 * MINUTE


def test_the_tick_records_a_breach_only_once_its_moment_has_come() -> None:
    clock = engine.start(target=2 * HOUR, now=FRIDAY_16, calendar=OFFICE)
    assert engine.observe(clock, MONDAY_10 - MINUTE) == clock
    breached = engine.observe(clock, MONDAY_10)
    assert breached.state == ClockState.BREACHED and breached.breached_at == MONDAY_10
    assert breached.next_check_at is None  # nothing more to look at until it stops


def test_a_pause_keeps_the_time_used_and_the_resume_moves_the_due_instant() -> None:
    clock = engine.start(target=2 * HOUR, now=MONDAY_9, calendar=OFFICE)
    paused = engine.pause(clock, now=MONDAY_10, calendar=OFFICE)
    assert paused.state == ClockState.PAUSED
    assert paused.elapsed == HOUR and paused.due_at is None and paused.next_check_at is None
    resumed = engine.resume(paused, now=local(LONDON, 2026, 11, 23, 16, 30), calendar=OFFICE)
    assert resumed.paused_total == 6 * HOUR + 30 * MINUTE
    # 30 minutes on Monday, the last 30 on Tuesday morning.
    assert resumed.due_at == local(LONDON, 2026, 11, 24, 9, 30)


def test_transitions_that_do_not_apply_change_nothing() -> None:
    clock = engine.start(target=2 * HOUR, now=MONDAY_9, calendar=OFFICE)
    assert engine.resume(clock, now=MONDAY_10, calendar=OFFICE) == clock
    stopped = engine.stop(clock, now=MONDAY_10, calendar=OFFICE)
    assert engine.pause(stopped, now=MONDAY_10 + HOUR, calendar=OFFICE) == stopped
    assert engine.stop(stopped, now=MONDAY_10 + HOUR, calendar=OFFICE) == stopped


def test_reopening_runs_a_stopped_clock_with_the_time_it_had_used() -> None:
    clock = engine.start(target=8 * HOUR, now=MONDAY_9, calendar=OFFICE)
    solved = engine.stop(clock, now=MONDAY_10, calendar=OFFICE)
    reopened = engine.reopen(solved, now=local(LONDON, 2026, 11, 23, 15), calendar=OFFICE)
    assert reopened.state == ClockState.RUNNING and reopened.elapsed == HOUR
    # 7 hours left: 2 on Monday, 5 on Tuesday.
    assert reopened.due_at == local(LONDON, 2026, 11, 24, 14)


def test_a_shorter_target_than_the_time_used_is_breached_at_once() -> None:
    # SLA_SEMANTICS: "a 4 h target with 3 h used, changed to 2 h, is already breached".
    clock = engine.start(target=4 * HOUR, now=MONDAY_9, calendar=OFFICE)
    now = MONDAY_9 + 3 * HOUR
    retargeted = engine.retarget(clock, target=2 * HOUR, now=now, calendar=OFFICE)
    assert retargeted.state == ClockState.BREACHED
    assert retargeted.breached_at == MONDAY_9 + 2 * HOUR  # counted back from now in business time
    assert retargeted.target == 2 * HOUR


def test_a_longer_target_moves_the_due_instant_and_keeps_the_time_used() -> None:
    clock = engine.start(target=2 * HOUR, now=MONDAY_9, calendar=OFFICE)
    retargeted = engine.retarget(clock, target=4 * HOUR, now=MONDAY_10, calendar=OFFICE)
    assert retargeted.elapsed == HOUR and retargeted.running_since == MONDAY_10
    assert retargeted.due_at == MONDAY_9 + 4 * HOUR


def test_met_and_breached_clocks_keep_their_record_when_the_target_changes() -> None:
    clock = engine.start(target=2 * HOUR, now=MONDAY_9, calendar=OFFICE)
    met = engine.stop(clock, now=MONDAY_10, calendar=OFFICE)
    assert engine.retarget(met, target=timedelta(minutes=5), now=MONDAY_10, calendar=OFFICE) == met
    breached = engine.observe(clock, MONDAY_9 + 3 * HOUR)
    assert engine.retarget(breached, target=8 * HOUR, now=MONDAY_9 + 3 * HOUR, calendar=OFFICE) == breached


def test_a_paused_clock_takes_a_new_target_without_a_due_instant() -> None:
    clock = engine.pause(engine.start(target=2 * HOUR, now=MONDAY_9, calendar=OFFICE), now=MONDAY_10, calendar=OFFICE)
    longer = engine.retarget(clock, target=3 * HOUR, now=MONDAY_10 + HOUR, calendar=OFFICE)
    assert longer.state == ClockState.PAUSED and longer.due_at is None and longer.target == 3 * HOUR
    shorter = engine.retarget(clock, target=30 * MINUTE, now=MONDAY_10 + HOUR, calendar=OFFICE)
    assert shorter.state == ClockState.BREACHED and shorter.breached_at == MONDAY_10 + HOUR


def test_state_at_counts_a_breach_no_tick_has_recorded() -> None:
    clock = engine.start(target=HOUR, now=MONDAY_9, calendar=OFFICE)
    assert clock.state_at(MONDAY_9 + 30 * MINUTE) == ClockState.RUNNING
    assert clock.state_at(MONDAY_10 + MINUTE) == ClockState.BREACHED
    assert engine.remaining_at(clock, MONDAY_10 + MINUTE, OFFICE) == -MINUTE


def test_settling_measures_the_time_used_in_the_old_calendar_before_a_new_one_counts_the_rest() -> None:
    friday_18 = local(LONDON, 2026, 11, 20, 18)
    around_the_clock = engine.start(target=24 * HOUR, now=friday_18, calendar=None)
    saturday_noon = friday_18 + 18 * HOUR
    settled = engine.settle(around_the_clock, now=saturday_noon, calendar=None)
    assert settled.elapsed == 18 * HOUR
    moved = engine.retarget(settled, target=24 * HOUR, now=saturday_noon, calendar=OFFICE)
    # 6 hours left, in office hours: Monday 09:00 to 15:00.
    assert moved.elapsed == 18 * HOUR and moved.due_at == local(LONDON, 2026, 11, 23, 15)


def test_calendar_time_is_real_time_across_a_clock_change() -> None:
    # 2026-10-25: London goes back an hour at 02:00. Four real hours from midnight is 03:00 local.
    midnight = local(LONDON, 2026, 10, 25, 0)
    assert engine.add(None, midnight, 4 * HOUR) == local(LONDON, 2026, 10, 25, 3)
    assert engine.between(None, midnight, local(LONDON, 2026, 10, 25, 3)) == 4 * HOUR


def test_a_status_change_moves_the_resolution_clock_as_the_rules_say() -> None:
    clock = engine.start(target=8 * HOUR, now=MONDAY_9, calendar=OFFICE)
    pending = engine.on_status(clock, before="open", after="pending", now=MONDAY_10, calendar=OFFICE)
    assert pending.state == ClockState.PAUSED
    solved = engine.on_status(pending, before="pending", after="solved", now=MONDAY_10 + HOUR, calendar=OFFICE)
    assert solved.state == ClockState.MET and solved.elapsed == HOUR
    reopened = engine.on_status(solved, before="solved", after="open", now=MONDAY_10 + 2 * HOUR, calendar=OFFICE)
    assert reopened.running and reopened.elapsed == HOUR
    closed = engine.on_status(reopened, before="open", after="closed", now=MONDAY_10 + 3 * HOUR, calendar=OFFICE)
    assert engine.on_status(closed, before="closed", after="open", now=MONDAY_10 + 4 * HOUR, calendar=OFFICE) == closed
