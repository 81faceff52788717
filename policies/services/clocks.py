"""SLA clocks follow the ticket's events, in the same transaction (SLA_SEMANTICS.md, "Clocks").

`clocks_on_ticket_event` is subscribed to tickets.events in PoliciesConfig.ready():
- created: the policy is matched and the first-response and resolution clocks start;
- an agent's reply stops the running first- and next-response clocks (met, or breached and met late);
- a customer message after the first response starts a new next-response cycle, unless one is running;
- pending pauses the resolution clock, leaving pending resumes it, solved (or closed) stops every clock, and
  reopening a solved ticket runs its resolution clock again with the time already used;
- a change of priority, team (an assignment to another team) or tags matches the policy again
  (policies.services.sla.sla_apply).
Every save computes the clock's next moment (its breach or next escalation level) for the tick
(policies.services.tick).
"""

from datetime import datetime, timedelta

from django.db import transaction

from policies.engine import clocks as engine
from policies.models import RESPONSE_KINDS, SlaClock, SlaTarget, TargetKind, TicketSla
from policies.services.sla import Schedule, clock_create, clock_save, sla_apply
from tickets.models import EventKind, Status, TicketEvent

# Editing any of these in the admin (or through a service) matches the ticket's policy again.
_MATCHED_FIELDS = {"priority", "team", "tags"}


def clocks_on_ticket_event(event: TicketEvent) -> None:
    """Move the ticket's SLA clocks for one ticket event; runs inside the event's transaction."""
    if not transaction.get_connection().in_atomic_block:
        # Services record events in their transaction; this guard only serves a caller that did not.
        with transaction.atomic():
            _move_clocks(event)
        return
    _move_clocks(event)


def _move_clocks(event: TicketEvent) -> None:
    ticket, now = event.ticket, event.created_at
    if event.kind == EventKind.CREATED:
        sla_apply(ticket=ticket, now=now, created=True)
    elif (
        event.kind in (EventKind.PRIORITY, EventKind.TAGS)
        or (event.kind == EventKind.UPDATED and _MATCHED_FIELDS & set(event.data.get("changed", {})))
        or (event.kind == EventKind.ASSIGNED and "team" in event.data)
    ):
        sla_apply(ticket=ticket, now=now)
    elif event.kind == EventKind.MESSAGE_OUT:
        _agent_replied(event, now)
    elif event.kind == EventKind.MESSAGE_IN:
        _customer_wrote(event, now)
    elif event.kind == EventKind.STATUS:
        _status_changed(event, now)


def _governing(event: TicketEvent) -> tuple[TicketSla, Schedule] | None:
    sla = TicketSla.objects.select_related("policy__calendar").filter(ticket_id=event.ticket_id).first()
    if sla is None:
        return None
    return sla, Schedule.of(sla)


def _agent_replied(event: TicketEvent, now: datetime) -> None:
    governing = _governing(event)
    if governing is None:
        return
    sla, schedule = governing
    # Locked, as the tick locks them: a breach it records and this stop never overwrite each other.
    live = SlaClock.objects.select_for_update().filter(
        ticket_id=event.ticket_id, kind__in=RESPONSE_KINDS, stopped_at__isnull=True
    )
    for row in live:
        # Stopped, the clock has no next moment: the levels it has not reached are cancelled for this cycle.
        clock_save(row, engine.stop(row.to_clock(), now=now, calendar=schedule.calendar), schedule)
    if sla.responded_at is None:
        sla.responded_at = now
        sla.save(update_fields=["responded_at"])


def _customer_wrote(event: TicketEvent, now: datetime) -> None:
    governing = _governing(event)
    if governing is None:
        return
    sla, schedule = governing
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
    target = _target(sla, event.ticket.priority, TargetKind.NEXT_RESPONSE)
    if target is None:
        return
    clock = engine.start(target=target, now=now, calendar=schedule.calendar)
    last_cycle = max((cycle for cycle, _stopped in cycles), default=0)
    # A new cycle is a new row with nothing fired: every level is armed again.
    clock_create(
        ticket=event.ticket, kind=TargetKind.NEXT_RESPONSE, clock=clock, schedule=schedule, cycle=last_cycle + 1
    )


def _status_changed(event: TicketEvent, now: datetime) -> None:
    governing = _governing(event)
    if governing is None:
        return
    sla, schedule = governing
    calendar = schedule.calendar
    before, after = event.data.get("from"), event.data.get("to")
    if after in (Status.SOLVED, Status.CLOSED):
        for row in SlaClock.objects.select_for_update().filter(ticket_id=event.ticket_id, stopped_at__isnull=True):
            clock_save(row, engine.stop(row.to_clock(), now=now, calendar=calendar), schedule)
        if sla.responded_at is None:
            # Solving ends the wait for a first answer; a later customer message starts a next response.
            sla.responded_at = now
            sla.save(update_fields=["responded_at"])
        return
    resolution = (
        SlaClock.objects.select_for_update()
        .filter(ticket_id=event.ticket_id, kind=TargetKind.RESOLUTION)
        .order_by("-cycle")
        .first()
    )
    if resolution is None:
        return
    clock = engine.on_status(resolution.to_clock(), before=str(before), after=str(after), now=now, calendar=calendar)
    if before == Status.SOLVED and clock.stopped_at is None:
        # While it was solved, the policy or its targets may have changed: the reopened clock takes today's.
        target = _target(sla, event.ticket.priority, TargetKind.RESOLUTION)
        if target is None:
            clock = engine.stop(clock, now=now, calendar=calendar)  # no resolution target any more
        else:
            clock = engine.retarget(clock, target=target, now=now, calendar=calendar)
    # A reopened clock arms again the levels it had not fired when it stopped.
    clock_save(resolution, clock, schedule)


def _target(sla: TicketSla, priority: int, kind: str) -> timedelta | None:
    """The duration of the `kind` target for `priority` under the ticket's policy, or None."""
    if sla.policy is None:
        return None
    targets = SlaTarget.objects.filter(policy=sla.policy, priority=priority, kind=kind)
    return targets.values_list("duration", flat=True).first()
