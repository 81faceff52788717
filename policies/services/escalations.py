"""Firing an escalation level on a ticket: record it once, do its actions, say what each one did.

The tick (policies.services.tick) fires levels on many tickets at once. `level_plan` makes a firing and its
actions in memory, through the tickets services' change functions, so that the event each change records is
the one an agent's change records; the tick collects them in a `Writes` and stores them in bulk: one insert
or update per table for the whole batch, inside the tick's transaction, with the tickets and clocks locked.
The unique constraint on (clock, cycle, level) still refuses a second firing. Emails, webhooks and live
frames leave only after the transaction commits: a tick that is rolled back (a worker killed mid-tick) has
told nobody anything.
"""

import json
import urllib.parse
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from helpdesk.bulk import rows_update
from policies.engine.durations import duration_text
from policies.engine.escalations import Scheduled
from policies.models import (
    CallState,
    EscalationFiring,
    EscalationLevel,
    SlaClock,
    TargetKind,
    TicketSla,
    WebhookCall,
)
from tickets.models import EventKind, Message, Notification, Priority, Tag, Ticket, TicketEvent
from tickets.selectors import team_members, users_seeing_ticket
from tickets.services.audit import ticket_events_store
from tickets.services.messages import note_data, note_new
from tickets.services.notifications import notifications_for, notifications_store
from tickets.services.properties import assign_change, priority_change, tags_change

Outcome = dict[str, str]


class LevelCache:
    """The levels a tick fires, with what their actions need, read once per policy per batch."""

    def __init__(self) -> None:
        self._levels: dict[int, EscalationLevel | None] = {}

    def get(self, level_id: int) -> EscalationLevel | None:
        """The level with its policy, assignee, team, people to notify and tags; None if it was deleted."""
        if level_id not in self._levels:
            policy_id = EscalationLevel.objects.filter(pk=level_id).values_list("policy_id", flat=True).first()
            self._levels[level_id] = None
            siblings = (
                EscalationLevel.objects.select_related("policy", "assign_user", "assign_team")
                .prefetch_related("notify_users", "notify_teams", "add_tags")
                .filter(policy_id=policy_id)
            )
            self._levels.update({level.pk: level for level in siblings})
        return self._levels[level_id]


class Writes:
    """What firing levels changed on some tickets, in memory, written in bulk by `flush`."""

    def __init__(self) -> None:
        self.tickets: dict[int, Ticket] = {}
        self.ticket_fields: set[str] = set()
        self.tag_links: list[tuple[Ticket, Tag]] = []
        self.slas: dict[int, TicketSla] = {}
        self.clocks: dict[int, SlaClock] = {}
        self.clock_fields: set[str] = set()
        self.clocks_dropped: dict[int, SlaClock] = {}
        # Each firing with its ESCALATED event and its webhook call's level and body (without the firing's id).
        self.firings: list[tuple[EscalationFiring, TicketEvent, tuple[EscalationLevel, dict[str, Any]] | None]] = []
        self.notes: list[tuple[Message, TicketEvent]] = []
        self.notifications: list[Notification] = []
        self.events: list[TicketEvent] = []  # in the order they happened

    def extend(self, other: "Writes") -> None:
        """Add `other`'s writes (another ticket's) to these."""
        self.tickets.update(other.tickets)
        self.ticket_fields |= other.ticket_fields
        self.tag_links += other.tag_links
        self.slas.update(other.slas)
        self.clocks.update(other.clocks)
        self.clock_fields |= other.clock_fields
        self.clocks_dropped.update(other.clocks_dropped)
        self.firings += other.firings
        self.notes += other.notes
        self.notifications += other.notifications
        self.events += other.events

    def ticket_changed(self, ticket: Ticket, fields: list[str]) -> None:
        self.tickets[ticket.pk] = ticket
        self.ticket_fields.update(fields)

    def clock_changed(self, row: SlaClock, fields: list[str]) -> None:
        if fields:
            self.clocks[row.pk] = row
            self.clock_fields.update(fields)

    def clock_dropped(self, row: SlaClock) -> None:
        self.clocks.pop(row.pk, None)
        self.clocks_dropped[row.pk] = row

    def event(self, ticket: Ticket, kind: EventKind, now: datetime, data: dict[str, Any]) -> TicketEvent:
        event = TicketEvent(ticket=ticket, kind=kind, created_at=now, data=data)
        self.events.append(event)
        return event

    def flush(self, *, state_done: bool = True) -> None:
        """Write everything, a statement or two per table, then empty these writes.

        `state_done`: the clocks already follow the changes made (the tick matched the tickets again in
        memory), so the events go to the publishers only.
        """
        wall = timezone.now()
        if self.slas:
            new = [sla for sla in self.slas.values() if sla._state.adding]
            TicketSla.objects.bulk_create(new)
            changed = [sla for sla in self.slas.values() if sla not in new]
            rows_update(changed, _SLA_MATCH_FIELDS)
        if self.tickets:
            for ticket in self.tickets.values():
                ticket.updated_at = wall
            rows_update(self.tickets.values(), [*sorted(self.ticket_fields), "updated_at"])
        if self.tag_links:
            through = Ticket.tags.through
            through.objects.bulk_create(
                [through(ticket_id=ticket.pk, tag_id=tag.pk) for ticket, tag in self.tag_links], ignore_conflicts=True
            )
        self._firings_store()
        if self.notes:
            Message.objects.bulk_create([message for message, _event in self.notes])
            for message, event in self.notes:
                event.data = note_data(message)
        notifications_store(self.notifications)
        if self.clocks:
            for row in self.clocks.values():
                row.updated_at = wall
            rows_update(self.clocks.values(), [*sorted(self.clock_fields), "updated_at"])
        if self.clocks_dropped:
            # Their firings stay on the ticket (the foreign key is set to null).
            SlaClock.objects.filter(pk__in=list(self.clocks_dropped)).delete()
        ticket_events_store(self.events, state_done=state_done)
        self.__init__()  # type: ignore[misc]

    def _firings_store(self) -> None:
        """Insert the firings (the unique constraint refuses a second), then their webhook calls, and give
        the ESCALATED events their firing's id and outcomes."""
        if not self.firings:
            return
        EscalationFiring.objects.bulk_create([firing for firing, _event, _call in self.firings])
        calls = []
        for firing, _event, call in self.firings:
            if call is not None:
                level, body = call
                calls.append(
                    WebhookCall(
                        firing=firing,
                        url=level.webhook_url,
                        secret=level.webhook_secret,
                        body=json.dumps({**body, "firing": firing.pk}, separators=(",", ":"), sort_keys=True),
                        state=CallState.PENDING,
                        next_attempt_at=firing.fired_at,
                        created_at=firing.fired_at,
                    )
                )
        if calls:
            WebhookCall.objects.bulk_create(calls)
            by_firing = {stored.firing_id: stored for stored in calls}
            for firing, _event, _call in self.firings:
                stored = by_firing.get(firing.pk)
                if stored is None:
                    continue
                for outcome in firing.outcomes:
                    if outcome["action"] == "webhook":
                        outcome["call"] = str(stored.pk)
                        outcome["detail"] = outcome["detail"].replace("call to", f"call {stored.pk} to", 1)
            rows_update([f for f, _e, _c in self.firings if f.pk in by_firing], ["outcomes"])
        for firing, event, _call in self.firings:
            event.data = {"firing": firing.pk, **event.data, "outcomes": firing.outcomes}


_SLA_MATCH_FIELDS = [
    "policy",
    "policy_name",
    "reasons",
    "matched_at",
    "escalation_policy",
    "escalation_policy_name",
    "escalation_reasons",
]


def level_plan(
    *, row: SlaClock, item: Scheduled, level: EscalationLevel, now: datetime, tags: dict[int, str], writes: Writes
) -> EscalationFiring:
    """Fire `level` on `row`'s cycle at `now`, in memory: the firing, its actions on the ticket (whose tags
    are `tags`, kept up to date) and their events, all in `writes`."""
    ticket = row.ticket
    firing = EscalationFiring(
        ticket=ticket,
        clock=row,
        cycle=row.cycle,
        level=level,
        policy=level.policy,
        policy_name=level.policy.name,
        level_number=level.number,
        kind=level.kind,
        offset=level.offset,
        moment=item.moment,
        fired_at=now,
    )
    row.escalated = [*row.escalated, level.pk]
    writes.clock_changed(row, ["escalated"])
    firing.outcomes, call = _act(level, firing=firing, ticket=ticket, now=now, tags=tags, writes=writes)
    event = writes.event(
        ticket,
        EventKind.ESCALATED,
        now,
        {
            "policy": firing.policy_name,
            "level": level.number,
            "clock": row.kind,
            "cycle": row.cycle,
            "moment": item.moment.isoformat(),
        },
    )
    writes.firings.append((firing, event, call))
    return firing


def level_summary(kind: str, offset: timedelta) -> str:
    """'Resolution, 30m before due' and the like: when a level of target `kind` at `offset` fires, in words."""
    label = TargetKind(kind).label
    if not offset:
        return f"{label}, at the breach"
    if offset.total_seconds() < 0:
        return f"{label}, {duration_text(-offset)} before due"
    return f"{label}, {duration_text(offset)} after the breach"


def _act(
    level: EscalationLevel,
    *,
    firing: EscalationFiring,
    ticket: Ticket,
    now: datetime,
    tags: dict[int, str],
    writes: Writes,
) -> tuple[list[Outcome], tuple[EscalationLevel, dict[str, Any]] | None]:
    """The level's actions in order, in memory: what each did, and the webhook call to make (if any)."""
    reason = f"escalation {level.policy.name}, level {level.number}"
    outcomes: list[Outcome] = []
    if level.assign_team_id or level.assign_user_id:
        outcomes.append(_assign(level, ticket=ticket, now=now, reason=reason, writes=writes))
    if level.set_priority:
        label = Priority(level.set_priority).label
        data = priority_change(ticket, priority=Priority(level.set_priority), reason=reason)
        if data is not None:
            writes.ticket_changed(ticket, ["priority"])
            writes.event(ticket, EventKind.PRIORITY, now, data)
        detail = f"priority set to {label}" if data else f"priority was already {label}"
        outcomes.append(_outcome("priority", "done" if data else "skipped", detail))
    level_tags = list(level.add_tags.all())
    if level_tags:
        added, data = tags_change(tags, level_tags, reason=reason)
        if added:
            tags.update((tag.pk, tag.name) for tag in added)
            writes.tag_links += [(ticket, tag) for tag in added]
            writes.event(ticket, EventKind.TAGS, now, data)
            detail = "tagged " + ", ".join(data["added"])
        else:
            detail = "already tagged " + ", ".join(tag.name for tag in level_tags)
        outcomes.append(_outcome("tags", "done" if added else "skipped", detail))
    if level.note.strip():
        message = note_new(ticket=ticket, text=level.note, now=now)
        writes.notes.append((message, writes.event(ticket, EventKind.NOTE, now, {})))
        outcomes.append(_outcome("note", "done", "internal note added"))
    notify_ids = {user.pk for user in level.notify_users.all()}
    teams = [team.pk for team in level.notify_teams.all()]
    if teams:
        notify_ids |= set(team_members(teams).values_list("pk", flat=True))
    if notify_ids:
        outcomes.append(_notify(level, ticket=ticket, user_ids=notify_ids, now=now, writes=writes))
    call = None
    if level.webhook_url:
        call = (level, _webhook_body(level, firing=firing, ticket=ticket, now=now))
        # Only the host: a webhook URL is often its own credential (a chat hook), and outcomes reach every agent.
        host = urllib.parse.urlsplit(level.webhook_url).netloc
        outcomes.append(_outcome("webhook", "queued", f"call to {host} queued"))  # the call's id once stored
    return outcomes, call


def _assign(level: EscalationLevel, *, ticket: Ticket, now: datetime, reason: str, writes: Writes) -> Outcome:
    """Move the ticket to the level's team, then give it to the level's agent if they may see it there."""
    user: User | None = level.assign_user
    parts, problem = [], ""
    if level.assign_team is not None:
        moved = _assigned(ticket, now=now, reason=reason, writes=writes, team=level.assign_team)
        parts.append(f"moved to team {level.assign_team}" if moved else f"already with team {level.assign_team}")
    if user is not None:
        if not user.is_active:
            problem = f"not assigned: {user.get_username()} is no longer active"
        elif not users_seeing_ticket(ticket, [user.pk]).exists():
            problem = f"not assigned: {user.get_username()} may not see this ticket"
        elif _assigned(ticket, now=now, reason=reason, writes=writes, assignee=user):
            parts.append(f"assigned to {user.get_username()}")
        else:
            parts.append(f"already assigned to {user.get_username()}")
    detail = "; ".join([*parts, problem] if problem else parts)
    status = "failed" if problem else ("done" if any(not p.startswith("already") for p in parts) else "skipped")
    return _outcome("assign", status, detail)


def _assigned(ticket: Ticket, *, now: datetime, reason: str, writes: Writes, **change: Any) -> bool:
    assigned = assign_change(ticket, reason=reason, **change)
    if assigned is None:
        return False
    fields, data = assigned
    writes.ticket_changed(ticket, fields)
    writes.event(ticket, EventKind.ASSIGNED, now, data)
    return True


def _notify(level: EscalationLevel, *, ticket: Ticket, user_ids: set[int], now: datetime, writes: Writes) -> Outcome:
    when = level_summary(level.kind, level.offset)
    text = f"Ticket #{ticket.number}: {when} ({level.policy.name}, level {level.number})"
    data = {"policy": level.policy.name, "level": level.number}
    notifications, left_out = notifications_for(ticket=ticket, user_ids=user_ids, text=text, now=now, data=data)
    writes.notifications += notifications
    names = ", ".join(sorted(n.user.get_username() for n in notifications)) or "nobody"
    detail = f"told {names}"
    if left_out:
        detail += f"; {len(left_out)} left out who may not see the ticket"
    return _outcome("notify", "done" if notifications else "skipped", detail)


def _webhook_body(level: EscalationLevel, *, firing: EscalationFiring, ticket: Ticket, now: datetime) -> dict[str, Any]:
    """The call's JSON body, the ticket as the level left it; the firing's id is added once it is stored."""
    return {
        "event": "escalation.fired",
        "policy": level.policy.name,
        "level": level.number,
        "target": level.kind,
        "moment": firing.moment.isoformat(),
        "fired_at": now.isoformat(),
        "ticket": {
            "id": ticket.pk,
            "number": ticket.number,
            "subject": ticket.subject,
            "status": ticket.status,
            "priority": ticket.priority,
            "team": ticket.team_id,
            "assignee": ticket.assignee_id,
        },
    }


def _outcome(action: str, status: str, detail: str, **extra: Any) -> Outcome:
    return {"action": action, "status": status, "detail": detail, **extra}
