"""One SLA clock (one target, one cycle) as a value, and its transitions: pure, every instant passed in.

A clock keeps the business time it has used (`elapsed`) up to the instant it last started running
(`running_since`); while it runs, the time used so far is `elapsed` plus the business time since then. Its
due instant is where the rest of the target runs out, counted in the calendar's business time from
`running_since` (SLA_SEMANTICS.md, "Clocks"). `calendar=None` means calendar time: business time is elapsed
time. Every transition first records a breach that has already happened, so a clock that stops late keeps
its breach and says how late it was.

Transitions that do not apply (pausing a stopped clock, resuming a running one) return the clock unchanged,
so callers can replay events without guarding each one.
"""

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from policies.engine.business_time import add_business, business_between
from policies.engine.calendar import CalendarSpec

ZERO = timedelta(0)

# A clock is "warning" once it has used this share of its target (the last 20% left).
WARNING_SHARE_NUMERATOR, WARNING_SHARE_DENOMINATOR = 4, 5


class ClockState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    MET = "met"
    BREACHED = "breached"


@dataclass(frozen=True)
class Clock:
    """What a clock needs to know; the model stores exactly these fields (and the state derived from them)."""

    target: timedelta
    started_at: datetime
    elapsed: timedelta = ZERO
    running_since: datetime | None = None
    paused_at: datetime | None = None
    paused_total: timedelta = ZERO
    due_at: datetime | None = None
    warn_at: datetime | None = None
    stopped_at: datetime | None = None
    breached_at: datetime | None = None

    @property
    def running(self) -> bool:
        return self.stopped_at is None and self.paused_at is None

    @property
    def state(self) -> ClockState:
        """The recorded state: a breach, once recorded, is never undone."""
        if self.breached_at is not None:
            return ClockState.BREACHED
        if self.stopped_at is not None:
            return ClockState.MET
        if self.paused_at is not None:
            return ClockState.PAUSED
        return ClockState.RUNNING

    @property
    def next_check_at(self) -> datetime | None:
        """The next instant at which the clock changes by itself: its breach, while it runs."""
        if self.running and self.breached_at is None:
            return self.due_at
        return None

    def state_at(self, now: datetime) -> ClockState:
        """The state as of `now`, counting a breach that no tick has recorded yet."""
        return observe(self, now).state

    def late_by(self, calendar: CalendarSpec | None) -> timedelta | None:
        """For a clock stopped after its breach: the business time between the due instant and the stop."""
        if self.stopped_at is None or self.breached_at is None:
            return None
        return between(calendar, self.breached_at, self.stopped_at)


def add(calendar: CalendarSpec | None, start: datetime, duration: timedelta) -> datetime:
    """`start` plus `duration` of business time (of elapsed time when there is no calendar)."""
    if calendar is None:
        # In UTC: arithmetic on a zone-aware local time would be wall-clock, an hour off across a DST change.
        return start.astimezone(UTC) + duration
    return add_business(calendar, start, duration)


def between(calendar: CalendarSpec | None, start: datetime, end: datetime) -> timedelta:
    """The business time from `start` to `end` (elapsed time when there is no calendar); never negative."""
    if end <= start:
        return ZERO
    if calendar is None:
        return end.astimezone(UTC) - start.astimezone(UTC)
    return business_between(calendar, start, end)


def elapsed_at(clock: Clock, now: datetime, calendar: CalendarSpec | None) -> timedelta:
    """The business time the clock has used by `now`."""
    if clock.running and clock.running_since is not None:
        return clock.elapsed + between(calendar, clock.running_since, now)
    return clock.elapsed


def remaining_at(clock: Clock, now: datetime, calendar: CalendarSpec | None) -> timedelta:
    """The business time left before the target runs out at `now` (negative once it has)."""
    return clock.target - elapsed_at(clock, now, calendar)


def start(*, target: timedelta, now: datetime, calendar: CalendarSpec | None) -> Clock:
    """A new clock (or a new cycle of one) running from `now`."""
    return _arm(Clock(target=target, started_at=now, running_since=now), calendar)


def observe(clock: Clock, now: datetime) -> Clock:
    """Record the breach of a running clock whose due instant has come; the tick calls this."""
    if clock.running and clock.breached_at is None and clock.due_at is not None and clock.due_at <= now:
        return replace(clock, breached_at=clock.due_at)
    return clock


def pause(clock: Clock, *, now: datetime, calendar: CalendarSpec | None) -> Clock:
    """Stop counting (the ticket waits on the customer); the time used so far is kept."""
    clock = observe(clock, now)
    if not clock.running:
        return clock
    used = elapsed_at(clock, now, calendar)
    return replace(clock, elapsed=used, running_since=None, paused_at=now, due_at=None, warn_at=None)


def resume(clock: Clock, *, now: datetime, calendar: CalendarSpec | None) -> Clock:
    """Count again from `now` with the time already used; the due instant moves by the pause."""
    if clock.stopped_at is not None or clock.paused_at is None:
        return clock
    paused = replace(clock, paused_total=clock.paused_total + (now - clock.paused_at), paused_at=None)
    return _arm(replace(paused, running_since=now), calendar)


def stop(clock: Clock, *, now: datetime, calendar: CalendarSpec | None) -> Clock:
    """The target is reached (a reply, a solve): met, or breached and met late."""
    clock = observe(clock, now)
    if clock.stopped_at is not None:
        return clock
    if clock.paused_at is not None:
        clock = replace(clock, paused_total=clock.paused_total + (now - clock.paused_at), paused_at=None)
    used = elapsed_at(clock, now, calendar)
    return replace(clock, elapsed=used, running_since=None, stopped_at=now, warn_at=None)


def reopen(clock: Clock, *, now: datetime, calendar: CalendarSpec | None) -> Clock:
    """Run a stopped clock again with the time it had used (a solved ticket reopened)."""
    if clock.stopped_at is None:
        return clock
    return _arm(replace(clock, stopped_at=None, running_since=now), calendar)


def settle(clock: Clock, *, now: datetime, calendar: CalendarSpec | None) -> Clock:
    """Fold the time a running clock has used up to `now`, measured in `calendar`, into its `elapsed`.

    Before a clock moves to another calendar (the ticket now follows a policy with other hours), the time
    it ran so far must be measured in the calendar it ran on; `retarget` then counts the rest in the new one.
    """
    clock = observe(clock, now)
    if not clock.running or clock.running_since is None:
        return clock
    return replace(clock, elapsed=elapsed_at(clock, now, calendar), running_since=now)


def retarget(clock: Clock, *, target: timedelta, now: datetime, calendar: CalendarSpec | None) -> Clock:
    """Apply a new target (or calendar) to the business time already used; met or breached clocks keep theirs.

    A running clock that has already used more than its new target is breached at once; its due instant is
    counted back from `now` in business time, so it says roughly when the new target ran out. A paused one
    is breached at `now`. To change calendars, `settle` the clock in the old one first.
    """
    clock = observe(clock, now)
    if clock.stopped_at is not None or clock.breached_at is not None:
        return clock
    if clock.paused_at is not None:
        retargeted = replace(clock, target=target)
        return replace(retargeted, breached_at=now) if clock.elapsed >= target else retargeted
    used = elapsed_at(clock, now, calendar)
    armed = _arm(replace(clock, target=target, elapsed=used, running_since=now), calendar)
    return observe(armed, now)


# Ticket statuses, as the resolution clock reads them.
PENDING, SOLVED, CLOSED = "pending", "solved", "closed"


def on_status(clock: Clock, *, before: str, after: str, now: datetime, calendar: CalendarSpec | None) -> Clock:
    """The resolution clock after a ticket's status moved from `before` to `after` at `now`.

    Solved or closed stops it; leaving solved runs it again with the time used; pending pauses it and
    leaving pending resumes it. A closed ticket never reopens (a new message opens a new ticket).
    """
    if after in (SOLVED, CLOSED):
        return stop(clock, now=now, calendar=calendar)
    if before == CLOSED:
        return clock
    if before == SOLVED:
        clock = reopen(clock, now=now, calendar=calendar)
    if after == PENDING:
        return pause(clock, now=now, calendar=calendar)
    if before == PENDING:
        return resume(clock, now=now, calendar=calendar)
    return clock


def _arm(clock: Clock, calendar: CalendarSpec | None) -> Clock:
    """Set the due and warning instants of a running clock from its `running_since`."""
    assert clock.running_since is not None
    left = clock.target - clock.elapsed
    warn_left = max(ZERO, clock.target * WARNING_SHARE_NUMERATOR / WARNING_SHARE_DENOMINATOR - clock.elapsed)
    return replace(
        clock,
        due_at=add(calendar, clock.running_since, left),
        warn_at=add(calendar, clock.running_since, warn_left),
    )
