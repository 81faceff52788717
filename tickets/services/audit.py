"""Recording ticket events: the audit trail every service writes, and what other apps subscribe to."""

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
