"""Recording ticket events: the audit trail every service writes, and what other apps subscribe to."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User

from tickets import events
from tickets.models import EventKind, Ticket, TicketEvent


def ticket_event_record(
    *,
    ticket: Ticket,
    kind: EventKind,
    now: datetime,
    actor: User | None = None,
    data: dict[str, Any] | None = None,
) -> TicketEvent:
    """Store one change to `ticket`, made at `now`, and hand it to the subscribers, in the caller's transaction."""
    event = TicketEvent.objects.create(ticket=ticket, kind=kind, actor=actor, created_at=now, data=data or {})
    # The subscribers read the ticket from the event; give them the instance we already hold.
    event.ticket = ticket
    events.emit(event)
    return event


def ticket_events_store(events_: Sequence[TicketEvent], *, state_done: bool) -> list[TicketEvent]:
    """Store `events_` (their tickets loaded) in one insert, in order, and hand each to the subscribers.

    `state_done`: the caller has already made their changes to the state that follows tickets (the SLA
    clocks), so only the publishers hear them.
    """
    if not events_:
        return []
    tickets = [event.ticket for event in events_]
    stored = TicketEvent.objects.bulk_create(events_)
    for event, ticket in zip(stored, tickets, strict=True):
        event.ticket = ticket
        events.emit(event, state_done=state_done)
    return stored
