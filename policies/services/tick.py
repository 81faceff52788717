"""The tick: record the breaches and fire the escalation levels whose moment has come (ARCHITECTURE.md, "Timers").

Each clock row keeps its next moment of interest in `next_check_at` (a partial index). One batch:
1. picks the tickets whose earliest due moment came first, locking the tickets with
   SKIP LOCKED (FOR NO KEY UPDATE, so event inserts on them still go through). Every writer of clocks holds
   the ticket's row lock first, so ticket-then-clocks is the one lock order and a tick never deadlocks with
   a reply, and two ticks (two workers) never take the same ticket;
2. for each of their due clocks: records a breach, fires the due levels in order (each under the unique
   constraint on (clock, cycle, level), with its actions and TicketEvents), and stores the next moment;
3. commits, and only then do live frames, emails and webhook calls leave.
A worker killed in the middle loses its transaction whole: the next tick finds the same work undone.
The cost of a batch follows the work that is due, not the number of open clocks.
"""

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import OuterRef, QuerySet, Subquery

from policies.engine import clocks as engine
from policies.engine import escalations
from policies.models import SlaClock, TicketSla
from policies.services.escalations import REMATCHING_ACTIONS, LevelCache, level_fire
from policies.services.rulebook import Rules, rules
from policies.services.sla import Schedule, clock_save
from tickets.models import EventKind, Ticket
from tickets.services.audit import ticket_event_record

logger = logging.getLogger(__name__)

# How many tickets one batch (one transaction) takes. Firing a level costs tens of milliseconds; a small
# batch holds its ticket locks for a second or so and makes its firings visible soon.
BATCH = 50
CANDIDATES_PER_TICKET = 40
# A ticket the tick could not handle is tried again this much later.
RETRY_AFTER = timedelta(minutes=1)
# Each pass over a ticket fires at least one level; a ticket never needs more than a few.
MAX_PASSES = 10


def clocks_check(*, now: datetime, limit: int = BATCH) -> int:
    """Do what is due by `now` on at most `limit` tickets, in one transaction; how many tickets were handled."""
    with transaction.atomic():
        tickets = {ticket.pk: ticket for ticket in due_tickets(now=now, limit=limit)}
        if not tickets:
            return 0
        slas = {
            sla.ticket_id: sla
            for sla in TicketSla.objects.select_related("policy__calendar").filter(ticket_id__in=tickets)
        }
        levels, book = LevelCache(), rules()
        for ticket in tickets.values():
            try:
                with transaction.atomic():
                    _ticket_check(ticket, slas.get(ticket.pk), now=now, levels=levels, book=book)
            except Exception:
                # One ticket that cannot be handled (a bug, bad data) must not hold up the rest, nor every
                # later tick: its work waits a minute, in the log for someone to look at.
                logger.exception("the tick could not handle ticket %s", ticket.pk)
                SlaClock.objects.filter(ticket=ticket, next_check_at__lte=now).update(next_check_at=now + RETRY_AFTER)
    return len(tickets)


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
        .select_related("team", "identity__channel_account")
        .filter(pk__in=candidates)
        .annotate(first_due=Subquery(first_due))
        .order_by("first_due", "pk")[:limit]
    )


def _ticket_check(ticket: Ticket, sla: TicketSla | None, *, now: datetime, levels: LevelCache, book: Rules) -> None:
    """Do what is due on one ticket's clocks. A level that matched the ticket again (a new priority, team or
    tags) may have retargeted, stopped or removed its clocks and changed its escalation policy: everything
    is read again before anything else fires."""
    for attempt in range(MAX_PASSES):
        if attempt:
            sla = TicketSla.objects.select_related("policy__calendar").filter(ticket=ticket).first()
        schedule = Schedule.of(sla, book=book) if sla else Schedule(None, None)
        rows = SlaClock.objects.select_for_update(of=("self",)).filter(ticket=ticket, next_check_at__lte=now)
        for row in rows.order_by("next_check_at", "id"):
            row.ticket = ticket
            if _check(row, schedule, now=now, levels=levels):
                break
        else:
            return


def _check(row: SlaClock, schedule: Schedule, *, now: datetime, levels: LevelCache) -> bool:
    """Record the breach and fire the levels due on one clock; True when a level matched the ticket again."""
    was_breached = row.breached_at is not None
    clock = engine.observe(row.to_clock(), now)
    firing = escalations.due(schedule.armed(row, clock), now)
    clock_save(row, clock, schedule)
    if clock.breached_at is not None and not was_breached:
        ticket_event_record(
            ticket=row.ticket,
            kind=EventKind.SLA,
            now=now,
            data={"clock": row.kind, "cycle": row.cycle, "state": clock.state.value},
        )
    for item in firing:
        fired = level_fire(row=row, item=item, now=now, levels=levels)
        if fired is not None and any(
            outcome["action"] in REMATCHING_ACTIONS and outcome["status"] != "skipped" for outcome in fired.outcomes
        ):
            return True
    if firing:
        clock_save(row, row.to_clock(), schedule)  # the levels fired are off the schedule now
    return False
