"""When escalation levels come due on a clock: pure, every instant passed in (SLA_SEMANTICS.md, "Escalation levels").

A level's moment is its target's due instant plus the level's offset: counted back in business time when the
offset is negative (a warning 30 minutes before due means 30 business minutes), in calendar time when it is
zero or positive. A level can only come due while its clock runs: a met clock cancels the levels it has not
reached (those it had reached still fire, however late the tick), a paused clock (no due instant) holds
them, and a new cycle arms them all again. A level whose
moment lies before its cycle started never fires (a 30-minute warning on a 20-minute target); one whose
moment has already passed when the clock is (re)computed fires at the next tick.
"""

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from policies.engine.calendar import CalendarSpec
from policies.engine.clocks import ZERO, Clock, add
from policies.engine.errors import BusinessTimeError


@dataclass(frozen=True)
class Level:
    """What the timing of a level depends on; its actions live elsewhere."""

    id: int
    number: int
    kind: str
    offset: timedelta


@dataclass(frozen=True)
class Scheduled:
    """A level armed on a clock, and the instant it comes due."""

    moment: datetime
    level: Level


def level_moment(due_at: datetime, offset: timedelta, calendar: CalendarSpec | None) -> datetime:
    """The instant a level with `offset` comes due on a clock due at `due_at`."""
    if offset < ZERO:
        return add(calendar, due_at, offset)
    return add(None, due_at, offset)


def armed(
    clock: Clock, levels: Iterable[Level], *, fired: Collection[int], calendar: CalendarSpec | None
) -> list[Scheduled]:
    """The levels still to fire on `clock` (of its kind, not in `fired`), earliest first.

    A running clock arms every level still ahead of it. A stopped one keeps only those whose moment came
    before it stopped, which a late tick has not fired yet; a paused one arms none.
    """
    if clock.due_at is None or (clock.paused_at is not None and clock.stopped_at is None):
        return []
    scheduled = []
    for level in levels:
        if level.id in fired:
            continue
        try:
            moment = level_moment(clock.due_at, level.offset, calendar)
        except BusinessTimeError:
            continue  # so far back that the calendar has no such opening: before any cycle began
        if moment < clock.started_at:
            continue  # due before the cycle began: SLA_SEMANTICS says it never fires
        if clock.stopped_at is not None and moment > clock.stopped_at:
            continue  # the target was met first: cancelled for this cycle
        scheduled.append(Scheduled(moment=moment, level=level))
    return sorted(scheduled, key=lambda item: (item.moment, item.level.number))


def due(scheduled: Iterable[Scheduled], now: datetime) -> list[Scheduled]:
    """The armed levels whose moment has come by `now`, in the order they fire."""
    return [item for item in scheduled if item.moment <= now]


def next_check(clock: Clock, scheduled: Iterable[Scheduled]) -> datetime | None:
    """The next instant the tick has work on `clock`: its breach, or the next armed level, whichever is first."""
    moments = [item.moment for item in scheduled]
    if clock.next_check_at is not None:
        moments.append(clock.next_check_at)
    return min(moments, default=None)
