"""Firing an escalation level on a ticket: record it once, do its actions, say what each one did.

The tick (policies.services.tick) calls `level_fire` inside its transaction, with the ticket and the clock
row locked. Every action that changes the ticket goes through the tickets services, so it writes its own
TicketEvent (and browsers see the new priority, assignee or tags live). Emails and webhooks leave only after
the transaction commits: a tick that is rolled back (a worker killed mid-tick) has told nobody anything.
"""

import json
import urllib.parse
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from policies.engine.durations import duration_text
from policies.engine.escalations import Scheduled
from policies.models import CallState, EscalationFiring, EscalationLevel, SlaClock, TargetKind, WebhookCall
from tickets.models import EventKind, Priority, Ticket
from tickets.selectors import team_members, users_seeing_ticket
from tickets.services.audit import ticket_event_record
from tickets.services.messages import message_note
from tickets.services.notifications import notifications_send
from tickets.services.properties import ticket_assign, ticket_priority_set, ticket_tags_add

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


# Actions after which the ticket's policies are matched again, which moves its clocks.
REMATCHING_ACTIONS = frozenset({"assign", "priority", "tags"})


def level_fire(
    *, row: SlaClock, item: Scheduled, now: datetime, levels: LevelCache | None = None
) -> EscalationFiring | None:
    """Fire one level on `row`'s cycle at `now`; None when it had already fired (nothing is done twice)."""
    level = (levels or LevelCache()).get(item.level.id)
    if level is None:
        return None  # deleted since the schedule was read: the next save of the clock forgets it
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
    try:
        with transaction.atomic():
            firing.save(force_insert=True)
    except IntegrityError:
        return None  # the unique (clock, cycle, level) says another tick fired it
    row.escalated = [*row.escalated, level.pk]
    row.save(update_fields=["escalated"])
    firing.outcomes = _act(level, firing=firing, ticket=ticket, now=now)
    firing.save(update_fields=["outcomes"])
    ticket_event_record(
        ticket=ticket,
        kind=EventKind.ESCALATED,
        now=now,
        data={
            "firing": firing.pk,
            "policy": firing.policy_name,
            "level": level.number,
            "clock": row.kind,
            "cycle": row.cycle,
            "moment": item.moment.isoformat(),
            "outcomes": firing.outcomes,
        },
    )
    return firing


def level_summary(kind: str, offset: timedelta) -> str:
    """'Resolution, 30m before due' and the like: when a level of target `kind` at `offset` fires, in words."""
    label = TargetKind(kind).label
    if not offset:
        return f"{label}, at the breach"
    if offset.total_seconds() < 0:
        return f"{label}, {duration_text(-offset)} before due"
    return f"{label}, {duration_text(offset)} after the breach"


def _act(level: EscalationLevel, *, firing: EscalationFiring, ticket: Ticket, now: datetime) -> list[Outcome]:
    reason = f"escalation {level.policy.name}, level {level.number}"
    outcomes: list[Outcome] = []
    if level.assign_team_id or level.assign_user_id:
        outcomes.append(_assign(level, ticket=ticket, now=now, reason=reason))
    if level.set_priority:
        changed = ticket_priority_set(ticket=ticket, priority=Priority(level.set_priority), now=now, reason=reason)
        label = Priority(level.set_priority).label
        detail = f"priority set to {label}" if changed else f"priority was already {label}"
        outcomes.append(_outcome("priority", "done" if changed else "skipped", detail))
    tags = list(level.add_tags.all())
    if tags:
        added = ticket_tags_add(ticket=ticket, tags=tags, now=now, reason=reason)
        detail = ("tagged " + ", ".join(added)) if added else "already tagged " + ", ".join(t.name for t in tags)
        outcomes.append(_outcome("tags", "done" if added else "skipped", detail))
    if level.note.strip():
        message_note(ticket=ticket, text=level.note, now=now)
        outcomes.append(_outcome("note", "done", "internal note added"))
    notify_ids = {user.pk for user in level.notify_users.all()}
    teams = [team.pk for team in level.notify_teams.all()]
    if teams:
        notify_ids |= set(team_members(teams).values_list("pk", flat=True))
    if notify_ids:
        outcomes.append(_notify(level, ticket=ticket, user_ids=notify_ids, now=now))
    if level.webhook_url:
        outcomes.append(_webhook(level, firing=firing, ticket=ticket, now=now))
    return outcomes


def _assign(level: EscalationLevel, *, ticket: Ticket, now: datetime, reason: str) -> Outcome:
    """Move the ticket to the level's team, then give it to the level's agent if they may see it there."""
    user: User | None = level.assign_user
    parts, problem = [], ""
    if level.assign_team is not None:
        moved = ticket_assign(ticket=ticket, team=level.assign_team, now=now, reason=reason)
        parts.append(f"moved to team {level.assign_team}" if moved else f"already with team {level.assign_team}")
    if user is not None:
        if not user.is_active:
            problem = f"not assigned: {user.get_username()} is no longer active"
        elif not users_seeing_ticket(ticket, [user.pk]).exists():
            problem = f"not assigned: {user.get_username()} may not see this ticket"
        elif ticket_assign(ticket=ticket, assignee=user, now=now, reason=reason):
            parts.append(f"assigned to {user.get_username()}")
        else:
            parts.append(f"already assigned to {user.get_username()}")
    detail = "; ".join([*parts, problem] if problem else parts)
    status = "failed" if problem else ("done" if any(not p.startswith("already") for p in parts) else "skipped")
    return _outcome("assign", status, detail)


def _notify(level: EscalationLevel, *, ticket: Ticket, user_ids: set[int], now: datetime) -> Outcome:
    when = level_summary(level.kind, level.offset)
    text = f"Ticket #{ticket.number}: {when} ({level.policy.name}, level {level.number})"
    sent, left_out = notifications_send(
        ticket=ticket,
        user_ids=user_ids,
        text=text,
        now=now,
        data={"policy": level.policy.name, "level": level.number},
    )
    names = ", ".join(sorted(n.user.get_username() for n in sent)) or "nobody"
    detail = f"told {names}"
    if left_out:
        detail += f"; {len(left_out)} left out who may not see the ticket"
    return _outcome("notify", "done" if sent else "skipped", detail)


def _webhook(level: EscalationLevel, *, firing: EscalationFiring, ticket: Ticket, now: datetime) -> Outcome:
    body = json.dumps(
        {
            "event": "escalation.fired",
            "firing": firing.pk,
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
        },
        separators=(",", ":"),
        sort_keys=True,
    )
    call = WebhookCall.objects.create(
        firing=firing,
        url=level.webhook_url,
        secret=level.webhook_secret,
        body=body,
        state=CallState.PENDING,
        next_attempt_at=now,
        created_at=now,
    )
    # Only the host: a webhook URL is often its own credential (a chat hook), and outcomes reach every agent.
    host = urllib.parse.urlsplit(level.webhook_url).netloc
    return _outcome("webhook", "queued", f"call {call.pk} to {host} queued", call=str(call.pk))


def _outcome(action: str, status: str, detail: str, **extra: Any) -> Outcome:
    return {"action": action, "status": status, "detail": detail, **extra}
