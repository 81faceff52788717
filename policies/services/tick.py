"""The tick: record the breaches and fire the escalation levels whose moment has come (ARCHITECTURE.md, "Timers").

Each clock row keeps its next moment of interest in `next_check_at` (a partial index). One batch, one
transaction:
1. picks the tickets whose earliest due moment came first, locking the tickets with SKIP LOCKED (FOR NO KEY
   UPDATE, so event inserts on them still go through). Every writer of clocks holds the ticket's row lock
   first, so ticket-then-clocks is the one lock order and a tick never deadlocks with a reply, and two ticks
   (two workers) never take the same ticket. Then it reads their SLA rows, tags and clocks (locked) at once;
2. for each ticket, in memory: records a breach, fires the due levels in order with their actions, matches
   the ticket again when a level changed its priority, team or tags (which retargets, stops or drops its
   clocks) before anything else fires, and works out each clock's next moment;
3. writes it all in bulk: a statement or two per table for the whole batch, the firings under the unique
   constraint on (clock, cycle, level);
4. commits, and only then do live frames, emails and webhook calls leave.
A ticket whose new policy gives it a clock it never had (made from its history, which needs the database),
and every ticket of a batch whose bulk write failed, is done again on its own, writing as it goes, in a
savepoint of its own. A ticket that cannot be done at all is logged and tried again a minute later; the rest
of the batch goes on. A worker killed in the middle loses its transaction whole: the next tick finds the
same work undone. The cost of a batch follows the work that is due, not the number of open clocks.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import OuterRef, QuerySet, Subquery

from policies.engine import clocks as engine
from policies.engine import escalations
from policies.models import EscalationFiring, SlaClock, TicketSla
from policies.services.escalations import LevelCache, Writes, level_plan
from policies.services.rulebook import Rules, rules
from policies.services.sla import Schedule, clocks_missing_make, sla_rematch, sla_row_new
from tickets.models import EventKind, Ticket

logger = logging.getLogger(__name__)

# How many tickets one batch (one transaction) takes. A batch is written in bulk, so a larger one costs
# less per ticket; it holds its ticket locks for well under a second.
BATCH = 100
CANDIDATES_PER_TICKET = 40
# A ticket the tick could not handle is tried again this much later.
RETRY_AFTER = timedelta(minutes=1)
# Each pass over a ticket fires at least one level; a ticket never needs more than a few.
MAX_PASSES = 10


@dataclass
class TicketState:
    """A locked ticket as the tick changes it in memory: its SLA row, tags (id -> name) and every clock."""

    ticket: Ticket
    sla: TicketSla | None
    tags: dict[int, str] = field(default_factory=dict)
    clocks: list[SlaClock] = field(default_factory=list)
    fired: set[tuple[int, int, int]] = field(default_factory=set)  # (clock, cycle, level) of stored firings


class NeedsDatabase(Exception):
    """A ticket's work needs what only the database can say: it is done on its own, writing as it goes."""


def clocks_check(*, now: datetime, limit: int = BATCH) -> int:
    """Do what is due by `now` on at most `limit` tickets, in one transaction; how many tickets were handled."""
    with transaction.atomic():
        ticket_ids = [ticket.pk for ticket in due_tickets(now=now, limit=limit)]
        if not ticket_ids:
            return 0
        levels, book = LevelCache(), rules()
        try:
            with transaction.atomic():
                alone, failed = _batch(ticket_ids, now=now, levels=levels, book=book)
        except Exception:
            logger.exception("the tick could not write its batch in bulk; doing its tickets one at a time")
            alone, failed = ticket_ids, []
        for state in _states(alone):
            try:
                with transaction.atomic():
                    _ticket_plan(state, now=now, levels=levels, book=book, alone=True).flush()
            except Exception:
                logger.exception("the tick could not handle ticket %s", state.ticket.pk)
                failed.append(state.ticket.pk)
        if failed:
            # A ticket that cannot be handled (a bug, bad data) must not hold up the rest, nor every later
            # tick: its work waits a minute, in the log for someone to look at.
            SlaClock.objects.filter(ticket_id__in=failed, next_check_at__lte=now).update(
                next_check_at=now + RETRY_AFTER
            )
    return len(ticket_ids)


def more_due_than(*, now: datetime, count: int) -> bool:
    """Whether more than `count` clocks are due by `now` (one look at the partial index)."""
    return SlaClock.objects.filter(next_check_at__lte=now).order_by().values("pk")[count : count + 1].exists()


def due_tickets(*, now: datetime, limit: int) -> QuerySet[Ticket]:
    """The (at most `limit`) tickets whose earliest due moment came first, locked FOR NO KEY UPDATE SKIP LOCKED.

    Candidates are read from the partial index on next_check_at, several times a batch, so that ticks running
    side by side (each skipping what another holds) still find work. Evaluate it inside a transaction.
    """
    candidates = (
        SlaClock.objects.filter(next_check_at__lte=now)
        .order_by("next_check_at")
        .values("ticket_id")[: limit * CANDIDATES_PER_TICKET]
    )
    first_due = (
        SlaClock.objects.filter(ticket_id=OuterRef("pk"), next_check_at__isnull=False)
        .order_by("next_check_at")
        .values("next_check_at")[:1]
    )
    return (
        Ticket.objects.select_for_update(skip_locked=True, no_key=True, of=("self",))
        .filter(pk__in=candidates)
        .annotate(first_due=Subquery(first_due))
        .order_by("first_due", "pk")
        .only("pk")[:limit]
    )


def _batch(ticket_ids: list[int], *, now: datetime, levels: LevelCache, book: Rules) -> tuple[list[int], list[int]]:
    """Plan every ticket in memory and write them in bulk: (the tickets to do alone, those that failed)."""
    writes, alone, failed = Writes(), [], []
    for state in _states(ticket_ids):
        try:
            writes.extend(_ticket_plan(state, now=now, levels=levels, book=book, alone=False))
        except NeedsDatabase:
            alone.append(state.ticket.pk)
        except Exception:
            logger.exception("the tick could not handle ticket %s", state.ticket.pk)
            failed.append(state.ticket.pk)
    writes.flush()
    return alone, failed


def _states(ticket_ids: list[int]) -> list[TicketState]:
    """The tickets (locked by the caller) as the tick needs them: four queries, however many tickets."""
    if not ticket_ids:
        return []
    tickets = Ticket.objects.select_related("team", "identity__channel_account", "sla__policy__calendar").filter(
        pk__in=ticket_ids
    )
    states = {}
    for ticket in tickets.order_by("pk"):
        states[ticket.pk] = TicketState(ticket=ticket, sla=getattr(ticket, "sla", None))
    through = Ticket.tags.through
    for ticket_id, tag_id, name in through.objects.filter(ticket_id__in=states).values_list(
        "ticket_id", "tag_id", "tag__name"
    ):
        states[ticket_id].tags[tag_id] = name
    clocks = SlaClock.objects.select_for_update(of=("self",)).filter(ticket_id__in=states).order_by("id")
    by_clock: dict[int, TicketState] = {}
    for row in clocks:
        row.ticket = states[row.ticket_id].ticket
        states[row.ticket_id].clocks.append(row)
        by_clock[row.pk] = states[row.ticket_id]
    stored = EscalationFiring.objects.filter(clock_id__in=by_clock, level__isnull=False)
    for clock_id, cycle, level_id in stored.values_list("clock_id", "cycle", "level_id"):
        by_clock[clock_id].fired.add((clock_id, cycle, level_id))
    # In the order the caller gave: the tickets due first are done first.
    return [states[ticket_id] for ticket_id in ticket_ids if ticket_id in states]


def _ticket_plan(state: TicketState, *, now: datetime, levels: LevelCache, book: Rules, alone: bool) -> Writes:
    """Do what is due on one ticket's clocks, in memory; what to write. A level that matched the ticket
    again (a new priority, team or tags) may have retargeted, stopped or dropped its clocks and changed its
    escalation policy: everything is looked at again before anything else fires. `alone`: the ticket is
    done on its own, so writing as it goes is allowed (else NeedsDatabase is raised when it would be)."""
    writes = Writes()
    for _pass in range(MAX_PASSES):
        schedule = Schedule.of(state.sla, book=book) if state.sla else Schedule(None, None, book=book)
        due = [row for row in state.clocks if row.next_check_at is not None and row.next_check_at <= now]
        for row in sorted(due, key=lambda row: (row.next_check_at, row.pk)):
            if _check(row, schedule, state, now=now, levels=levels, writes=writes):
                _rematch(state, now=now, book=book, writes=writes, alone=alone)
                break
        else:
            break
    return writes


def _check(
    row: SlaClock, schedule: Schedule, state: TicketState, *, now: datetime, levels: LevelCache, writes: Writes
) -> bool:
    """Record the breach and fire the levels due on one clock; True when a level changed what the ticket's
    policies are matched on (the rest waits until it is matched again)."""
    was_breached = row.breached_at is not None
    clock = engine.observe(row.to_clock(), now)
    firing = escalations.due(schedule.armed(row, clock), now)
    writes.clock_changed(row, row.apply(clock, schedule.next_check(row, clock)))
    if clock.breached_at is not None and not was_breached:
        data = {"clock": row.kind, "cycle": row.cycle, "state": clock.state.value}
        writes.event(state.ticket, EventKind.SLA, now, data)
    for item in firing:
        level = levels.get(item.level.id)
        if level is None:
            continue  # deleted since the rules were read: the next look at the clock forgets it
        if (row.pk, row.cycle, level.pk) in state.fired:
            # Stored, though the clock did not say so (data restored or edited by hand): fired once is enough.
            logger.warning("level %s had already fired on clock %s, cycle %s", level.pk, row.pk, row.cycle)
            row.escalated = [*row.escalated, level.pk]
            writes.clock_changed(row, ["escalated"])
            continue
        matched_on = _matched_on(state)
        level_plan(row=row, item=item, level=level, now=now, tags=state.tags, writes=writes)
        if _matched_on(state) != matched_on:
            return True
    if firing:
        # The levels fired are off the schedule now.
        writes.clock_changed(row, row.apply(row.to_clock(), schedule.next_check(row, row.to_clock())))
    return False


def _matched_on(state: TicketState) -> tuple[object, ...]:
    """What the ticket's policies are matched on, as an agent's edit would re-match them (priority, team, tags)."""
    return (state.ticket.priority, state.ticket.team_id, frozenset(state.tags))


def _rematch(state: TicketState, *, now: datetime, book: Rules, writes: Writes, alone: bool) -> None:
    """Match the ticket again after a level changed it, in memory: its SLA row and clocks follow."""
    if state.sla is None:
        state.sla = sla_row_new(state.ticket, now=now)
    unbreached = {row.pk for row in state.clocks if row.breached_at is None}
    rematch = sla_rematch(ticket=state.ticket, sla=state.sla, clocks=state.clocks, book=book, now=now, tags=state.tags)
    for row in state.clocks:
        if row.pk in unbreached and row.breached_at is not None:
            # Found breached as the match settled it (before the tick looked at it): recorded as the tick would.
            data = {"clock": row.kind, "cycle": row.cycle, "state": row.state}
            writes.event(state.ticket, EventKind.SLA, now, data)
    if rematch.sla_changed:
        writes.slas[state.ticket.pk] = state.sla
    for row, fields in rematch.saved:
        writes.clock_changed(row, fields)
    for row in rematch.dropped:
        writes.clock_dropped(row)
        state.clocks.remove(row)
    if not rematch.missing:
        return
    if not alone:
        raise NeedsDatabase
    # The clocks it never had start from its creation and history: write what came before, then make them.
    writes.flush()
    clocks_missing_make(state.ticket, rematch, now=now)
    state.clocks = list(SlaClock.objects.select_for_update().filter(ticket=state.ticket).order_by("id"))
    for row in state.clocks:
        row.ticket = state.ticket
