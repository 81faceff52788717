"""SLA clocks follow the ticket's events, in the same transaction (SLA_SEMANTICS.md, "Clocks").

`clocks_on_ticket_event` is subscribed to tickets.events in PoliciesConfig.ready():
- created: the policy is matched and the first-response and resolution clocks start;
- an agent's reply stops the running first- and next-response clocks (met, or breached and met late);
- a customer message after the first response starts a new next-response cycle, unless one is running;
- pending pauses the resolution clock, leaving pending resumes it, solved (or closed) stops every clock, and
  reopening a solved ticket runs its resolution clock again with the time already used;
- a change of priority, team or tags matches the policy again (policies.services.sla.sla_apply).
`clocks_check` is the tick: it records the breaches whose moment has come and tells the browsers.
"""

from datetime import datetime

from django.db import transaction

from policies.engine import clocks as engine
from policies.engine.calendar import CalendarSpec
from policies.models import RESPONSE_KINDS, SlaClock, SlaTarget, TargetKind, TicketSla
from policies.services.sla import calendar_spec, clock_create, clock_save, sla_apply
from tickets.models import EventKind, Status, TicketEvent
from tickets.services.audit import ticket_event_record

# Editing any of these in the admin (or through a service) matches the ticket's policy again.
_MATCHED_FIELDS = {"priority", "team", "tags"}


def clocks_on_ticket_event(event: TicketEvent) -> None:
    """Move the ticket's SLA clocks for one ticket event; runs inside the event's transaction."""
    ticket, now = event.ticket, event.created_at
    if event.kind == EventKind.CREATED:
        sla_apply(ticket=ticket, now=now, created=True)
    elif event.kind in (EventKind.PRIORITY, EventKind.TAGS) or (
        event.kind == EventKind.UPDATED and _MATCHED_FIELDS & set(event.data.get("changed", {}))
    ):
        sla_apply(ticket=ticket, now=now)
    elif event.kind == EventKind.MESSAGE_OUT:
        _agent_replied(event, now)
    elif event.kind == EventKind.MESSAGE_IN:
        _customer_wrote(event, now)
    elif event.kind == EventKind.STATUS:
        _status_changed(event, now)


def _governing(event: TicketEvent) -> tuple[TicketSla, CalendarSpec | None] | None:
    sla = TicketSla.objects.select_related("policy__calendar").filter(ticket_id=event.ticket_id).first()
    if sla is None:
        return None
    return sla, calendar_spec(sla.policy.calendar if sla.policy else None)


def _agent_replied(event: TicketEvent, now: datetime) -> None:
    governing = _governing(event)
    if governing is None:
        return
    sla, calendar = governing
    for row in SlaClock.objects.filter(ticket_id=event.ticket_id, kind__in=RESPONSE_KINDS, stopped_at__isnull=True):
        clock_save(row, engine.stop(row.to_clock(), now=now, calendar=calendar))
    if sla.responded_at is None:
        sla.responded_at = now
        sla.save(update_fields=["responded_at"])


def _customer_wrote(event: TicketEvent, now: datetime) -> None:
    governing = _governing(event)
    if governing is None:
        return
    sla, calendar = governing
    # Until the first reply, the first-response clock is the one counting.
    if sla.policy is None or sla.responded_at is None:
        return
    cycles = list(
        SlaClock.objects.filter(ticket_id=event.ticket_id, kind=TargetKind.NEXT_RESPONSE).values_list(
            "cycle", "stopped_at"
        )
    )
    if any(stopped_at is None for _cycle, stopped_at in cycles):
        return  # the customer is already waiting for an answer; this message joins that wait
    target = (
        SlaTarget.objects.filter(policy=sla.policy, priority=event.ticket.priority, kind=TargetKind.NEXT_RESPONSE)
        .values_list("duration", flat=True)
        .first()
    )
    if target is None:
        return
    clock = engine.start(target=target, now=now, calendar=calendar)
    last_cycle = max((cycle for cycle, _stopped in cycles), default=0)
    clock_create(ticket=event.ticket, kind=TargetKind.NEXT_RESPONSE, clock=clock, cycle=last_cycle + 1)


def _status_changed(event: TicketEvent, now: datetime) -> None:
    governing = _governing(event)
    if governing is None:
        return
    sla, calendar = governing
    before, after = event.data.get("from"), event.data.get("to")
    if after in (Status.SOLVED, Status.CLOSED):
        for row in SlaClock.objects.filter(ticket_id=event.ticket_id, stopped_at__isnull=True):
            clock_save(row, engine.stop(row.to_clock(), now=now, calendar=calendar))
        if sla.responded_at is None:
            # Solving ends the wait for a first answer; a later customer message starts a next response.
            sla.responded_at = now
            sla.save(update_fields=["responded_at"])
        return
    resolution = (
        SlaClock.objects.filter(ticket_id=event.ticket_id, kind=TargetKind.RESOLUTION).order_by("-cycle").first()
    )
    if resolution is None:
        return
    clock = resolution.to_clock()
    if before == Status.SOLVED:
        clock = engine.reopen(clock, now=now, calendar=calendar)
    if after == Status.PENDING:
        clock = engine.pause(clock, now=now, calendar=calendar)
    elif before == Status.PENDING:
        clock = engine.resume(clock, now=now, calendar=calendar)
    clock_save(resolution, clock)


def clocks_check(*, now: datetime, limit: int = 500) -> int:
    """Record every breach whose moment has come (at most `limit` per call); how many were recorded.

    Rows are locked with skip_locked, so several workers ticking at once share the work without doubles.
    """
    with transaction.atomic():
        due = list(
            SlaClock.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("ticket")
            .filter(next_check_at__lte=now)
            .order_by("next_check_at")[:limit]
        )
        for row in due:
            clock = engine.observe(row.to_clock(), now)
            clock_save(row, clock)
            ticket_event_record(
                ticket=row.ticket,
                kind=EventKind.SLA,
                now=now,
                data={"clock": row.kind, "cycle": row.cycle, "state": clock.state.value},
            )
    return len(due)
