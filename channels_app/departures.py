"""Tickets leaving a team: telling the agents of the team a ticket left that it is gone, and nothing more.

Events go to the groups of the team a ticket is in now, so when a ticket moves to another team (an agent's
reassignment, an escalation level), the old team's agents would hear nothing and keep a row they can no
longer open. They get a "ticket.left" frame instead: the event's id (to drop repeats and resume after) and
the ticket's id, never its new state. A socket that still sees the ticket (a member of both teams, a
single-ticket grant, a superuser) drops it: it receives the event itself.
"""

from typing import Any

from channels_app.groups import team_group
from tickets.models import EventKind, TicketEvent
from tickets.selectors import User, visible_team_ids, visible_tickets


def left_team(event: TicketEvent) -> int | None:
    """The id of the team `event` moved its ticket away from, None if it moved none."""
    if event.kind != EventKind.ASSIGNED:
        return None
    moved = event.data.get("team") if isinstance(event.data, dict) else None
    if not isinstance(moved, dict) or not isinstance(moved.get("from"), int) or moved["from"] == moved.get("to"):
        return None
    return int(moved["from"])


def left_frame(event_id: int | None, ticket_id: int) -> dict[str, Any]:
    """The frame that tells a browser a ticket is no longer its user's to see (an event's id, if any)."""
    frame: dict[str, Any] = {"type": "ticket.left", "ticket": {"id": ticket_id}}
    if event_id is not None:
        frame["id"] = event_id
    return frame


def departure_message(event: TicketEvent) -> tuple[list[str], dict[str, Any]] | None:
    """(groups, message) telling the old team that `event` moved the ticket away; None for other events.

    The message carries the new team for the consumer to decide on, not for the browser: the consumer
    forwards only the frame.
    """
    old_team = left_team(event)
    if old_team is None:
        return None
    message = {"type": "ticket.left", "frame": left_frame(event.pk, event.ticket_id), "team_id": event.ticket.team_id}
    return [team_group(old_team)], message


def departures_after(user: User, *, after_id: int, limit: int) -> list[dict[str, Any]]:
    """The "ticket.left" frames `user` missed after `after_id`, oldest first: moves of tickets away from a team
    they see, to where they cannot follow (a reconnect's catch-up, beside the events themselves)."""
    if getattr(user, "is_superuser", False):
        return []  # a superuser follows every ticket everywhere
    team_ids = visible_team_ids(user)
    if not team_ids:
        return []
    moves = (
        TicketEvent.objects.filter(id__gt=after_id, kind=EventKind.ASSIGNED, data__team__from__in=team_ids)
        .exclude(ticket__in=visible_tickets(user))
        .order_by("id")
        .values_list("id", "ticket_id")[:limit]
    )
    return [left_frame(event_id, ticket_id) for event_id, ticket_id in moves]
