"""Changing a ticket's assignee, team, priority and tags: each records its event, which clocks and browsers follow."""

from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth.models import User

from tickets.models import EventKind, Priority, Tag, Team, Ticket
from tickets.services.audit import ticket_event_record


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
    data: dict[str, object] = {"reason": reason} if reason else {}
    fields = []
    if team is not None and team.pk != ticket.team_id:
        data["team"] = {"from": ticket.team_id, "to": team.pk, "name": team.name}
        ticket.team = team
        fields.append("team")
    if assignee is not None and assignee.pk != ticket.assignee_id:
        data["assignee"] = {"from": ticket.assignee_id, "to": assignee.pk, "name": assignee.get_username()}
        ticket.assignee = assignee
        fields.append("assignee")
    if not fields:
        return False
    ticket.save(update_fields=[*fields, "updated_at"])
    ticket_event_record(ticket=ticket, kind=EventKind.ASSIGNED, now=now, actor=actor, data=data)
    return True


def ticket_priority_set(
    *, ticket: Ticket, priority: Priority, now: datetime, actor: User | None = None, reason: str = ""
) -> bool:
    """Set `ticket`'s priority; False when it already had it."""
    previous = ticket.priority
    if previous == priority:
        return False
    ticket.priority = priority
    ticket.save(update_fields=["priority", "updated_at"])
    data: dict[str, object] = {"from": previous, "to": int(priority), "label": Priority(priority).label}
    if reason:
        data["reason"] = reason
    ticket_event_record(ticket=ticket, kind=EventKind.PRIORITY, now=now, actor=actor, data=data)
    return True


def ticket_tags_add(
    *, ticket: Ticket, tags: Iterable[Tag], now: datetime, actor: User | None = None, reason: str = ""
) -> list[str]:
    """Add `tags` to `ticket`; the names of those it did not have yet."""
    wanted = {tag.pk: tag for tag in tags}
    had = set(ticket.tags.filter(pk__in=wanted).values_list("pk", flat=True))
    added = [tag for pk, tag in wanted.items() if pk not in had]
    if not added:
        return []
    ticket.tags.add(*added)
    names = sorted(tag.name for tag in added)
    data: dict[str, object] = {"added": names, "tags": sorted(ticket.tags.values_list("name", flat=True))}
    if reason:
        data["reason"] = reason
    ticket_event_record(ticket=ticket, kind=EventKind.TAGS, now=now, actor=actor, data=data)
    return names
