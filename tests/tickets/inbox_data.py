"""Tickets, messages and SLA clocks for the inbox tests, made directly (fast), and how to read an inbox page."""

import itertools
from datetime import datetime, timedelta
from typing import Any

from django.test import Client
from django.utils import timezone

from policies.models import SlaClock, TargetKind
from tests.factories import MessageFactory, TicketFactory
from tickets.models import Tag, Ticket

_activity = itertools.count(1)
START = timezone.now() - timedelta(days=1)


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def make_ticket(
    team: Any,
    *,
    contact: str = "",
    text: str = "Hello, I need help.",
    kind: str = "api",
    tags: tuple[str, ...] = (),
    activity: datetime | None = None,
    **fields: Any,
) -> Ticket:
    """A ticket of `team` with one message from its contact; each one newer than the last unless `activity` says."""
    extra: dict[str, Any] = {"identity__channel_account__kind": kind}
    if contact:
        extra["identity__contact__display_name"] = contact
    ticket = TicketFactory(
        team=team,
        last_activity_at=activity or START + timedelta(seconds=next(_activity)),
        preview=text[:200],
        **extra,
        **fields,
    )
    MessageFactory(ticket=ticket, text=text)
    for name in tags:
        ticket.tags.add(Tag.objects.get_or_create(name=name)[0])
    return ticket


def add_clock(
    ticket: Ticket,
    *,
    now: datetime,
    due_in: timedelta | None = None,
    paused: bool = False,
    breached: bool = False,
    stopped: bool = False,
    kind: str = TargetKind.FIRST_RESPONSE,
) -> SlaClock:
    """An SLA clock on `ticket` as the engine leaves one: running and due in `due_in`, paused, or stopped."""
    due = None if paused or stopped else now + (due_in if due_in is not None else timedelta(hours=4))
    return SlaClock.objects.create(
        ticket=ticket,
        kind=kind,
        target=timedelta(hours=8),
        started_at=now - timedelta(hours=1),
        running_since=None if paused or stopped else now - timedelta(hours=1),
        paused_at=now if paused else None,
        due_at=due,
        stopped_at=now if stopped else None,
        breached_at=(due or now) if breached else None,
        state="breached" if breached else "met" if stopped else "paused" if paused else "running",
    )


def shown(client: Client, url: str) -> list[int]:
    """The numbers of the tickets an inbox page lists, in order (after the redirect to its canonical URL)."""
    response = client.get(url, follow=True)
    assert response.status_code == 200, (url, response.status_code)
    return [row.ticket.number for row in response.context["rows"]]


def numbers(*tickets: Ticket) -> list[int]:
    return [ticket.number for ticket in tickets]
