"""Changing a ticket's assignee, team, priority and tags: each records its event, which clocks and browsers follow.

Each change comes in two parts: a `*_change` function that changes the ticket in memory and says what the
event records (None: nothing changed), and the service that writes it. The escalation tick uses the first
part for many tickets at once and writes them in bulk (policies.services.escalations).
"""

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User

from tickets.models import EventKind, Priority, Tag, Team, Ticket
from tickets.services.audit import ticket_event_record

EventData = dict[str, Any]


def assign_change(
    ticket: Ticket, *, assignee: User | None = None, team: Team | None = None, reason: str = ""
) -> tuple[list[str], EventData] | None:
    """Give `ticket` to `assignee` and/or move it to `team`, in memory: (the fields changed, the event's data)."""
    data: EventData = {"reason": reason} if reason else {}
    fields = []
    if team is not None and team.pk != ticket.team_id:
        data["team"] = {"from": ticket.team_id, "to": team.pk, "name": team.name}
        ticket.team = team
        fields.append("team")
    if assignee is not None and assignee.pk != ticket.assignee_id:
        data["assignee"] = {"from": ticket.assignee_id, "to": assignee.pk, "name": assignee.get_username()}
        ticket.assignee = assignee
        fields.append("assignee")
    return (fields, data) if fields else None


def ticket_assign(
    *,
    ticket: Ticket,
    now: datetime,
    assignee: User | None = None,
    team: Team | None = None,
    actor: User | None = None,
    reason: str = "",
) -> bool:
    """Give `ticket` to `assignee` and/or move it to `team` (None: leave as is); False when nothing changed.

    A move to another team is recorded with the team, so SLA policies are matched again.
    """
    change = assign_change(ticket, assignee=assignee, team=team, reason=reason)
    if change is None:
        return False
    fields, data = change
    ticket.save(update_fields=[*fields, "updated_at"])
    ticket_event_record(ticket=ticket, kind=EventKind.ASSIGNED, now=now, actor=actor, data=data)
    return True


def priority_change(ticket: Ticket, *, priority: Priority, reason: str = "") -> EventData | None:
    """Set `ticket`'s priority in memory: the event's data, None when it already had it."""
    previous = ticket.priority
    if previous == priority:
        return None
    ticket.priority = priority
    data: EventData = {"from": previous, "to": int(priority), "label": Priority(priority).label}
    if reason:
        data["reason"] = reason
    return data


def ticket_priority_set(
    *, ticket: Ticket, priority: Priority, now: datetime, actor: User | None = None, reason: str = ""
) -> bool:
    """Set `ticket`'s priority; False when it already had it."""
    data = priority_change(ticket, priority=priority, reason=reason)
    if data is None:
        return False
    ticket.save(update_fields=["priority", "updated_at"])
    ticket_event_record(ticket=ticket, kind=EventKind.PRIORITY, now=now, actor=actor, data=data)
    return True


def tags_change(had: Mapping[int, str], tags: Iterable[Tag], *, reason: str = "") -> tuple[list[Tag], EventData]:
    """Which of `tags` a ticket tagged `had` (id -> name) lacks, and the event's data when any is added."""
    wanted = {tag.pk: tag for tag in tags}
    added = [tag for pk, tag in wanted.items() if pk not in had]
    names = sorted(tag.name for tag in added)
    data: EventData = {"added": names, "tags": sorted([*had.values(), *names])}
    if reason:
        data["reason"] = reason
    return added, data


def ticket_tags_add(
    *, ticket: Ticket, tags: Iterable[Tag], now: datetime, actor: User | None = None, reason: str = ""
) -> list[str]:
    """Add `tags` to `ticket`; the names of those it did not have yet."""
    added, data = tags_change(dict(ticket.tags.values_list("pk", "name")), tags, reason=reason)
    if not added:
        return []
    ticket.tags.add(*added)
    ticket_event_record(ticket=ticket, kind=EventKind.TAGS, now=now, actor=actor, data=data)
    return data["added"]


def ticket_unassign(*, ticket: Ticket, now: datetime, actor: User | None = None, reason: str = "") -> bool:
    """Take `ticket` from its assignee (it stays with its team); False when it had none."""
    if ticket.assignee_id is None:
        return False
    data: EventData = {"assignee": {"from": ticket.assignee_id, "to": None, "name": ""}}
    if reason:
        data["reason"] = reason
    ticket.assignee = None
    ticket.save(update_fields=["assignee", "updated_at"])
    ticket_event_record(ticket=ticket, kind=EventKind.ASSIGNED, now=now, actor=actor, data=data)
    return True


def ticket_tags_remove(
    *, ticket: Ticket, tags: Iterable[Tag], now: datetime, actor: User | None = None, reason: str = ""
) -> list[str]:
    """Take `tags` off `ticket`; the names of those it had."""
    had = dict(ticket.tags.values_list("pk", "name"))
    removed = [tag for tag in tags if tag.pk in had]
    if not removed:
        return []
    ticket.tags.remove(*removed)
    names = sorted(tag.name for tag in removed)
    data: EventData = {"removed": names, "tags": sorted(set(had.values()) - set(names))}
    if reason:
        data["reason"] = reason
    ticket_event_record(ticket=ticket, kind=EventKind.TAGS, now=now, actor=actor, data=data)
    return names
