"""What the inbox asks of SLA clocks: which tickets are breached or due soon, and when each is next due.

The core of tickets does not read policies (ARCHITECTURE.md); the inbox view asks here, with `now` passed in,
and hands the answer to tickets.selectors.inbox.inbox_tickets as an InboxSla. Every condition is a subquery
of ticket ids over the live clocks, never a join, so that a ticket with several clocks stays one row; the
next due instant (for the SLA sort) is an aggregate, grouped by ticket.
"""

from datetime import datetime, timedelta

from django.db.models import Min, Q

from policies.models import SlaClock
from tickets.selectors.inbox import InboxSla

# "Due soon" and the "Breaching soon" view: a running clock due within this long.
DUE_SOON = timedelta(hours=1)


def inbox_sla(*, now: datetime) -> InboxSla:
    """The SLA conditions of the inbox at `now`: breaching soon, each SLA state, and the next due instant."""
    live = SlaClock.objects.filter(stopped_at__isnull=True)
    # A paused clock has no due instant (the engine clears it), so a due_at condition means a running clock.
    breached = live.filter(Q(breached_at__isnull=False) | Q(due_at__lte=now)).values("ticket_id")
    soon = live.filter(due_at__lte=now + DUE_SOON).values("ticket_id")
    with_clock = live.values("ticket_id")
    is_breached, is_soon = Q(id__in=breached), Q(id__in=soon)
    return InboxSla(
        breaching=is_breached | is_soon,
        states={
            "breached": is_breached,
            "due_soon": is_soon & ~is_breached,
            "on_track": Q(id__in=with_clock) & ~is_soon & ~is_breached,
            "none": ~Q(id__in=with_clock),
        },
        # An aggregate over a join, not a subquery per ticket: the database joins the live clocks once and
        # groups, where a correlated subquery would run once for every ticket the agent may see.
        next_due=Min("sla_clocks__due_at", filter=Q(sla_clocks__stopped_at__isnull=True)),
    )
