"""Escalation levels on real tickets: when they fire, that they fire once, and what their actions do.

Tickets arrive through the signed webhook and agents answer through the reply form, as in production; the
tick is called with `now` passed in, so every instant is exact.
"""

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import IntegrityError
from django.test import Client
from guardian.shortcuts import assign_perm

from policies.models import (
    EscalationFiring,
    EscalationLevel,
    EscalationPolicy,
    SlaClock,
    SlaPolicy,
    SlaTarget,
    TicketSla,
    WebhookCall,
)
from policies.services.tick import clocks_check
from tests.factories import TeamFactory, UserFactory
from tests.support import webhook_ticket
from tickets.models import EventKind, Message, Notification, Priority, Status, Tag, Ticket
from tickets.services.notifications import notification_emails_send
from tickets.services.tickets import ticket_status_set

pytestmark = pytest.mark.django_db

H, M = timedelta(hours=1), timedelta(minutes=1)
FIRST, NEXT, RESOLUTION = "first_response", "next_response", "resolution"


@pytest.fixture
def sla() -> SlaPolicy:
    """Every ticket: first response in 1 h, next response in 2 h, resolution in 8 h, calendar time."""
    policy = SlaPolicy.objects.create(name="Standard")
    for kind, hours in ((FIRST, 1), (NEXT, 2), (RESOLUTION, 8)):
        SlaTarget.objects.create(policy=policy, priority=Priority.NORMAL, kind=kind, duration=hours * H)
    return policy


def escalation(sla_policy: SlaPolicy | None, *levels: dict[str, Any], name: str = "Escalate") -> EscalationPolicy:
    policy = EscalationPolicy.objects.create(name=name, sla_policy=sla_policy)
    for number, fields in enumerate(levels, start=1):
        many = {key: fields.pop(key) for key in ("notify_users", "notify_teams", "add_tags") if key in fields}
        level = EscalationLevel.objects.create(policy=policy, number=number, **fields)
        for key, values in many.items():
            getattr(level, key).set(values)
    return policy


def clock(ticket: Ticket, kind: str = FIRST, cycle: int = 1) -> SlaClock:
    return SlaClock.objects.get(ticket=ticket, kind=kind, cycle=cycle)


def reply(agent: Any, ticket: Ticket) -> None:
    client = Client()
    client.force_login(agent)
    assert client.post(f"/tickets/{ticket.number}/reply/", {"text": "On it"}).status_code == 302


def fired(ticket: Ticket) -> list[tuple[int, str, int]]:
    return list(
        EscalationFiring.objects.filter(ticket=ticket).order_by("id").values_list("level_number", "kind", "cycle")
    )


def test_a_warning_fires_at_its_moment_once_and_not_before(sla: SlaPolicy, account_a: Any) -> None:
    escalation(sla, {"kind": FIRST, "offset": -10 * M, "note": "First response due in 10 minutes"})
    ticket = webhook_ticket(account_a)
    row = clock(ticket)
    moment = row.due_at - 10 * M
    assert row.next_check_at == moment  # the warning comes before the breach
    assert TicketSla.objects.get(ticket=ticket).escalation_policy_name == "Escalate"

    assert clocks_check(now=moment - timedelta(microseconds=1)) == 0
    assert clocks_check(now=moment) == 1
    assert clocks_check(now=moment + M) == 0  # recorded once: the next moment is the breach
    assert fired(ticket) == [(1, FIRST, 1)]
    firing = EscalationFiring.objects.get(ticket=ticket)
    assert (firing.moment, firing.fired_at, firing.policy_name) == (moment, moment, "Escalate")
    assert firing.outcomes == [{"action": "note", "status": "done", "detail": "internal note added"}]
    row.refresh_from_db()
    assert row.next_check_at == row.due_at and row.state == "running"
    event = ticket.events.get(kind=EventKind.ESCALATED)
    assert event.data["level"] == 1 and event.data["outcomes"] == firing.outcomes
    note = Message.objects.get(ticket=ticket, internal=True)
    assert note.text == "First response due in 10 minutes" and note.author is None


def test_a_note_does_not_answer_the_customer(sla: SlaPolicy, account_a: Any) -> None:
    escalation(sla, {"kind": FIRST, "offset": -10 * M, "note": "Hurry"})
    ticket = webhook_ticket(account_a)
    clocks_check(now=clock(ticket).due_at - 5 * M)
    row = clock(ticket)
    assert row.stopped_at is None and row.state == "running"


def test_the_breach_and_the_levels_after_it_fire_in_order(sla: SlaPolicy, account_a: Any) -> None:
    escalation(
        sla,
        {"kind": FIRST, "offset": timedelta(0), "note": "Breached"},
        {"kind": FIRST, "offset": 30 * M, "note": "Still breached"},
    )
    ticket = webhook_ticket(account_a)
    due = clock(ticket).due_at
    clocks_check(now=due)
    assert fired(ticket) == [(1, FIRST, 1)]
    assert clock(ticket).state == "breached" and clock(ticket).next_check_at == due + 30 * M
    assert ticket.events.filter(kind=EventKind.SLA).count() == 1
    clocks_check(now=due + 30 * M)
    assert fired(ticket) == [(1, FIRST, 1), (2, FIRST, 1)]
    assert clock(ticket).next_check_at is None


def test_a_tick_that_comes_late_fires_every_due_level_in_order(sla: SlaPolicy, account_a: Any) -> None:
    escalation(
        sla,
        {"kind": FIRST, "offset": -10 * M, "note": "one"},
        {"kind": FIRST, "offset": timedelta(0), "note": "two"},
        {"kind": FIRST, "offset": 10 * M, "note": "three"},
    )
    ticket = webhook_ticket(account_a)
    clocks_check(now=clock(ticket).due_at + H)
    assert [n for n, _kind, _cycle in fired(ticket)] == [1, 2, 3]
    assert list(Message.objects.filter(ticket=ticket, internal=True).values_list("text", flat=True)) == [
        "one",
        "two",
        "three",
    ]


def test_a_reply_cancels_the_levels_it_reached_first(sla: SlaPolicy, account_a: Any, agent_a: Any) -> None:
    escalation(sla, {"kind": FIRST, "offset": -10 * M, "note": "warn"}, {"kind": FIRST, "offset": H, "note": "late"})
    ticket = webhook_ticket(account_a)
    due = clock(ticket).due_at
    reply(agent_a, ticket)
    assert clock(ticket).next_check_at is None
    assert clocks_check(now=due + 2 * H) == 0
    assert fired(ticket) == []


def test_each_next_response_cycle_arms_the_levels_again(sla: SlaPolicy, account_a: Any, agent_a: Any) -> None:
    escalation(sla, {"kind": NEXT, "offset": timedelta(0), "note": "No answer yet"})
    ticket = webhook_ticket(account_a, sender="c-cycles")
    reply(agent_a, ticket)
    webhook_ticket(account_a, sender="c-cycles", text="Anyone?")
    clocks_check(now=clock(ticket, NEXT, 1).due_at)
    reply(agent_a, ticket)
    webhook_ticket(account_a, sender="c-cycles", text="Still there?")
    second = clock(ticket, NEXT, 2)
    assert second.escalated == [] and second.next_check_at == second.due_at
    clocks_check(now=second.due_at)
    assert fired(ticket) == [(1, NEXT, 1), (1, NEXT, 2)]


def test_a_level_due_before_its_cycle_began_never_fires(account_a: Any) -> None:
    quick = SlaPolicy.objects.create(name="Quick")
    SlaTarget.objects.create(policy=quick, priority=Priority.NORMAL, kind=FIRST, duration=20 * M)
    escalation(quick, {"kind": FIRST, "offset": -30 * M, "note": "too early"})
    ticket = webhook_ticket(account_a)
    row = clock(ticket)
    assert row.next_check_at == row.due_at  # only the breach is ahead
    clocks_check(now=row.due_at + H)
    assert fired(ticket) == []


def test_pending_holds_the_levels_and_leaving_it_arms_them(sla: SlaPolicy, account_a: Any) -> None:
    escalation(sla, {"kind": RESOLUTION, "offset": -H, "note": "Resolution due in an hour"})
    ticket = webhook_ticket(account_a)
    start = clock(ticket, RESOLUTION).started_at
    ticket_status_set(ticket=ticket, status=Status.PENDING, now=start + 2 * H)
    assert clock(ticket, RESOLUTION).next_check_at is None
    clocks_check(now=start + 10 * H)  # the first-response clock breaches meanwhile; pending does not pause it
    assert fired(ticket) == []
    ticket_status_set(ticket=ticket, status=Status.OPEN, now=start + 10 * H)
    row = clock(ticket, RESOLUTION)
    # 2 h used of 8: due 6 h after the resume, and the level an hour before that.
    assert row.next_check_at == start + 10 * H + 5 * H
    clocks_check(now=row.next_check_at)
    assert fired(ticket) == [(1, RESOLUTION, 1)]


def test_a_reopened_ticket_arms_the_levels_it_had_not_fired(sla: SlaPolicy, account_a: Any) -> None:
    escalation(
        sla,
        {"kind": RESOLUTION, "offset": -7 * H, "note": "an hour in"},
        {"kind": RESOLUTION, "offset": timedelta(0), "note": "breached"},
    )
    ticket = webhook_ticket(account_a, sender="c-reopen")
    start = clock(ticket, RESOLUTION).started_at
    clocks_check(now=start + H)
    ticket_status_set(ticket=ticket, status=Status.SOLVED, now=start + 2 * H)
    assert clock(ticket, RESOLUTION).next_check_at is None
    ticket_status_set(ticket=ticket, status=Status.OPEN, now=start + 5 * H)
    row = clock(ticket, RESOLUTION)
    assert row.next_check_at == start + 5 * H + 6 * H  # level 1 fired already; the breach level is next
    clocks_check(now=row.next_check_at)
    assert fired(ticket) == [(1, RESOLUTION, 1), (2, RESOLUTION, 1)]


def test_a_retarget_that_puts_a_moment_in_the_past_fires_it_at_the_next_tick(
    sla: SlaPolicy, account_a: Any, admin_client: Client
) -> None:
    escalation(sla, {"kind": RESOLUTION, "offset": -H, "note": "soon"})
    ticket = webhook_ticket(account_a)
    start = clock(ticket, RESOLUTION).started_at
    SlaTarget.objects.filter(policy=sla, kind=RESOLUTION).update(duration=2 * H)
    from policies.services.recompute import sla_recompute
    from policies.services.rulebook import rules_changed

    rules_changed()
    sla_recompute(ticket_ids=[ticket.pk], now=start + 90 * M, reason="test")
    row = clock(ticket, RESOLUTION)
    assert row.next_check_at == start + H  # already past: fires at once
    clocks_check(now=start + 90 * M)
    assert fired(ticket) == [(1, RESOLUTION, 1)]


def test_one_firing_per_clock_cycle_and_level_is_a_database_constraint(sla: SlaPolicy, account_a: Any) -> None:
    escalation(sla, {"kind": FIRST, "offset": timedelta(0), "note": "x"})
    ticket = webhook_ticket(account_a)
    clocks_check(now=clock(ticket).due_at)
    firing = EscalationFiring.objects.get(ticket=ticket)
    firing.pk = None
    with pytest.raises(IntegrityError):
        firing.save()


def test_the_actions_change_the_ticket_through_its_services(sla: SlaPolicy, account_a: Any, team_b: Any) -> None:
    lead = UserFactory(username="lead", email="lead@example.com")
    assign_perm("view_team", lead, team_b)
    escalated = Tag.objects.create(name="escalated")
    escalation(
        sla,
        {
            "kind": FIRST,
            "offset": timedelta(0),
            "set_priority": Priority.URGENT,
            "add_tags": [escalated],
            "assign_team": team_b,
            "assign_user": lead,
        },
    )
    ticket = webhook_ticket(account_a)
    clocks_check(now=clock(ticket).due_at)
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.team_id, ticket.assignee_id) == (Priority.URGENT, team_b.pk, lead.pk)
    assert list(ticket.tags.values_list("name", flat=True)) == ["escalated"]
    kinds = list(ticket.events.values_list("kind", flat=True))
    for kind in (EventKind.PRIORITY, EventKind.TAGS, EventKind.ASSIGNED, EventKind.ESCALATED):
        assert kind in kinds
    outcomes = {o["action"]: (o["status"], o["detail"]) for o in EscalationFiring.objects.get().outcomes}
    assert outcomes == {
        "assign": ("done", f"moved to team {team_b.name}; assigned to lead"),
        "priority": ("done", "priority set to Urgent"),
        "tags": ("done", "tagged escalated"),
    }


def test_a_new_priority_matches_the_policies_again(account_a: Any) -> None:
    normal = SlaPolicy.objects.create(name="Normal", position=2)
    SlaTarget.objects.create(policy=normal, priority=Priority.NORMAL, kind=FIRST, duration=H)
    urgent = SlaPolicy.objects.create(name="Urgent", position=1, priorities=[Priority.URGENT])
    SlaTarget.objects.create(policy=urgent, priority=Priority.URGENT, kind=FIRST, duration=2 * H)
    escalation(normal, {"kind": FIRST, "offset": -30 * M, "set_priority": Priority.URGENT})
    ticket = webhook_ticket(account_a)
    clocks_check(now=clock(ticket).due_at - 30 * M)
    sla_row = TicketSla.objects.get(ticket=ticket)
    assert (sla_row.policy_name, sla_row.escalation_policy_id) == ("Urgent", None)
    row = clock(ticket)
    assert row.target == 2 * H and row.escalated == [EscalationLevel.objects.get().pk]


def test_notify_tells_only_agents_who_may_see_the_ticket(sla: SlaPolicy, account_a: Any, team_a: Any) -> None:
    seer = UserFactory(username="seer", email="seer@example.com")
    assign_perm("view_team", seer, team_a)
    outsider = UserFactory(username="outsider", email="outsider@example.com")
    assign_perm("view_team", outsider, TeamFactory())
    member_by_team = UserFactory(username="member", email="")
    assign_perm("view_team", member_by_team, team_a)
    escalation(sla, {"kind": FIRST, "offset": -5 * M, "notify_users": [seer, outsider], "notify_teams": [team_a]})
    ticket = webhook_ticket(account_a)
    assert not Notification.objects.exists()
    clocks_check(now=clock(ticket).due_at - 5 * M)
    assert sorted(Notification.objects.values_list("user__username", flat=True)) == ["member", "seer"]
    [outcome] = EscalationFiring.objects.get().outcomes
    assert outcome == {
        "action": "notify",
        "status": "done",
        "detail": "told member, seer; 1 left out who may not see the ticket",
    }
    # Only those with an address get an email.
    assert notification_emails_send(notification_ids=Notification.objects.values_list("pk", flat=True)) == 1
    [email] = mail.outbox
    assert email.to == ["seer@example.com"] and f"/tickets/{ticket.number}/" in email.body
    assert email.subject == f"Ticket #{ticket.number}: First response, 5m before due (Escalate, level 1)"


def test_an_assignee_who_may_not_see_the_ticket_is_not_given_it(sla: SlaPolicy, account_a: Any) -> None:
    stranger = UserFactory(username="stranger")
    assign_perm("view_team", stranger, TeamFactory())
    escalation(sla, {"kind": FIRST, "offset": timedelta(0), "assign_user": stranger})
    ticket = webhook_ticket(account_a)
    clocks_check(now=clock(ticket).due_at)
    ticket.refresh_from_db()
    assert ticket.assignee_id is None
    [outcome] = EscalationFiring.objects.get().outcomes
    assert outcome["status"] == "failed" and "stranger may not see this ticket" in outcome["detail"]


def test_a_webhook_action_is_stored_for_sending_after_the_tick(sla: SlaPolicy, account_a: Any) -> None:
    escalation(
        sla,
        {"kind": FIRST, "offset": timedelta(0), "webhook_url": "http://127.0.0.1:9/hook", "webhook_secret": "s3cret"},
    )
    ticket = webhook_ticket(account_a)
    due = clock(ticket).due_at
    clocks_check(now=due)
    call = WebhookCall.objects.get()
    assert (call.state, call.attempts, call.next_attempt_at) == ("pending", 0, due)
    assert f'"number":{ticket.number}' in call.body and '"event":"escalation.fired"' in call.body


def test_the_escalation_policy_follows_its_sla_policy_and_conditions(
    sla: SlaPolicy, account_a: Any, team_a: Any, team_b: Any
) -> None:
    other = SlaPolicy.objects.create(name="Other", position=200)
    escalation(other, {"kind": FIRST, "offset": timedelta(0), "note": "x"}, name="For Other")
    own = escalation(None, {"kind": FIRST, "offset": timedelta(0), "note": "y"}, name="Team B only")
    own.teams.set([team_b])
    escalation(sla, {"kind": FIRST, "offset": timedelta(0), "note": "z"}, name="For Standard")
    ticket = webhook_ticket(account_a)
    row = TicketSla.objects.get(ticket=ticket)
    assert row.escalation_policy_name == "For Standard"
    assert row.escalation_reasons[1] == "follows the SLA policy Standard"


def test_a_status_change_to_solved_stops_and_cancels(sla: SlaPolicy, account_a: Any) -> None:
    escalation(sla, {"kind": RESOLUTION, "offset": timedelta(0), "note": "late"})
    ticket = webhook_ticket(account_a)
    start = clock(ticket, RESOLUTION).started_at
    ticket_status_set(ticket=ticket, status=Status.SOLVED, now=start + H)
    assert SlaClock.objects.filter(ticket=ticket, next_check_at__isnull=False).count() == 0
    assert clocks_check(now=start + 9 * H) == 0


def test_a_batch_takes_the_tickets_due_first(sla: SlaPolicy, account_a: Any) -> None:
    escalation(sla, {"kind": FIRST, "offset": timedelta(0), "note": "late"})
    tickets = [webhook_ticket(account_a, sender=f"c-order-{n}") for n in range(3)]
    # Make the last ticket due first, the first one last.
    for ticket, minutes in zip(tickets, (30, 20, 10), strict=True):
        due = clock(ticket).started_at + minutes * M
        SlaClock.objects.filter(ticket=ticket, kind=FIRST).update(due_at=due, next_check_at=due)
    later = clock(tickets[0]).due_at + H
    handled = []
    while clocks_check(now=later, limit=1):
        handled.append(EscalationFiring.objects.latest("id").ticket_id)
    assert handled == [tickets[2].pk, tickets[1].pk, tickets[0].pk]
