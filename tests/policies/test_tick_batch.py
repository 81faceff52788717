"""The tick does a batch of tickets in memory and writes it in bulk: its queries do not grow with the tickets,
a ticket that needs the database on its own is done alone, and one that cannot be written never holds up
the rest of its batch.
"""

import logging
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from policies.models import EscalationFiring, EscalationLevel, SlaClock, SlaPolicy, SlaTarget, WebhookCall
from policies.services.tick import clocks_check
from policies.tasks import tick_once
from tests.policies.escalation_helpers import inbound_ticket, make_escalation_policy
from tickets.models import EventKind, Priority, Tag, Ticket, TicketEvent

pytestmark = pytest.mark.django_db

H, M = timedelta(hours=1), timedelta(minutes=1)
FIRST, RESOLUTION = "first_response", "resolution"
START = datetime.fromisoformat("2026-03-02T09:00:00+00:00")


@pytest.fixture
def sla() -> SlaPolicy:
    """Every ticket: first response in 1 h, resolution in 8 h, calendar time."""
    policy = SlaPolicy.objects.create(name="Standard")
    for priority in (Priority.NORMAL, Priority.URGENT):
        SlaTarget.objects.create(policy=policy, priority=priority, kind=FIRST, duration=H)
        SlaTarget.objects.create(policy=policy, priority=priority, kind=RESOLUTION, duration=8 * H)
    return policy


def tickets_opened(account: Any, count: int, *, at: datetime, prefix: str) -> list[Ticket]:
    return [inbound_ticket(account, now=at, sender=f"{prefix}-{n}") for n in range(count)]


def test_a_batch_costs_the_same_queries_for_3_tickets_as_for_30(sla: SlaPolicy, account_a: Any) -> None:
    tag = Tag.objects.create(name="escalated")
    make_escalation_policy(
        sla_policy=sla,
        levels=[
            {
                "kind": FIRST,
                "offset": timedelta(0),
                "set_priority": Priority.URGENT,
                "add_tags": [tag],
                "note": "Breached",
                "webhook_url": "http://127.0.0.1:9/hook",
                "webhook_secret": "s",
            }
        ],
    )
    few = tickets_opened(account_a, 3, at=START, prefix="few")
    many = tickets_opened(account_a, 30, at=START + 2 * H, prefix="many")
    counts = []
    for group, due in ((few, START + H), (many, START + 3 * H)):
        with CaptureQueriesContext(connection) as queries:
            assert clocks_check(now=due) == len(group)
        counts.append(len(queries))
        assert EscalationFiring.objects.filter(ticket__in=group).count() == len(group)
    assert counts[0] == counts[1], counts
    # What the bulk writes stored is what one ticket at a time would have.
    ticket = many[-1]
    ticket.refresh_from_db()
    assert ticket.priority == Priority.URGENT and list(ticket.tags.values_list("name", flat=True)) == ["escalated"]
    assert ticket.messages.filter(internal=True, text="Breached").count() == 1
    kinds = list(ticket.events.values_list("kind", flat=True))
    assert kinds[-5:] == [EventKind.SLA, EventKind.PRIORITY, EventKind.TAGS, EventKind.NOTE, EventKind.ESCALATED]
    firing = EscalationFiring.objects.get(ticket=ticket)
    call = WebhookCall.objects.get(firing=firing)
    assert f'"firing":{firing.pk}' in call.body and '"priority":4' in call.body
    webhook = next(outcome for outcome in firing.outcomes if outcome["action"] == "webhook")
    assert webhook == {
        "action": "webhook",
        "status": "queued",
        "detail": f"call {call.pk} to 127.0.0.1:9 queued",
        "call": str(call.pk),
    }
    escalated = ticket.events.get(kind=EventKind.ESCALATED)
    assert escalated.data["firing"] == firing.pk and escalated.data["outcomes"] == firing.outcomes
    note = ticket.events.get(kind=EventKind.NOTE)
    assert note.data["message_id"] == ticket.messages.get(internal=True).pk
    # The breach is recorded on the clock, and the level fired is off its schedule.
    first = SlaClock.objects.get(ticket=ticket, kind=FIRST)
    assert first.breached_at == START + 3 * H and first.next_check_at is None
    assert first.escalated == [EscalationLevel.objects.get().pk]


def test_a_level_that_gives_a_ticket_a_clock_it_never_had_is_done_on_its_own(account_a: Any) -> None:
    """Normal tickets have no resolution target; urgent ones do. A level that makes a ticket urgent gives it a
    resolution clock counted from its creation, which needs the database: that ticket is done alone, the
    others of the batch in bulk."""
    normal = SlaPolicy.objects.create(name="Normal")
    SlaTarget.objects.create(policy=normal, priority=Priority.NORMAL, kind=FIRST, duration=H)
    SlaTarget.objects.create(policy=normal, priority=Priority.URGENT, kind=FIRST, duration=H)
    SlaTarget.objects.create(policy=normal, priority=Priority.URGENT, kind=RESOLUTION, duration=4 * H)
    make_escalation_policy(
        sla_policy=normal,
        levels=[
            {"kind": FIRST, "offset": -10 * M, "set_priority": Priority.URGENT, "note": "Raised"},
            {"kind": RESOLUTION, "offset": -3 * H, "note": "Resolution warning"},
        ],
    )
    raised = inbound_ticket(account_a, now=START, sender="raised")
    already = inbound_ticket(account_a, now=START, sender="already")
    Ticket.objects.filter(pk=already.pk).update(priority=Priority.URGENT)
    assert not SlaClock.objects.filter(kind=RESOLUTION).exists()
    # "already" is urgent but was matched as normal: its level finds the priority set and changes nothing.
    assert clocks_check(now=START + 50 * M) == 2
    resolution = SlaClock.objects.get(ticket=raised, kind=RESOLUTION)
    assert (resolution.started_at, resolution.due_at) == (START, START + 4 * H)
    # The resolution level 3 h before due (START + 1 h) is ahead; the ticket's next moment is the first breach.
    assert resolution.next_check_at == START + H
    assert not SlaClock.objects.filter(ticket=already, kind=RESOLUTION).exists()
    assert EscalationFiring.objects.filter(ticket=already).count() == 1
    assert clocks_check(now=START + H) == 2
    levels = list(EscalationFiring.objects.filter(ticket=raised).order_by("id").values_list("level_number", "kind"))
    assert levels == [(1, FIRST), (2, RESOLUTION)]


def test_a_level_stored_as_fired_that_its_clock_does_not_know_of_is_not_fired_again(
    sla: SlaPolicy, account_a: Any, caplog: Any
) -> None:
    make_escalation_policy(sla_policy=sla, levels=[{"kind": FIRST, "offset": timedelta(0), "note": "Due"}])
    known, fine = (inbound_ticket(account_a, now=START, sender=name) for name in ("known", "fine"))
    row = SlaClock.objects.get(ticket=known, kind=FIRST)
    level = EscalationLevel.objects.get()
    # A firing the clock does not list (as a restore or a hand edit could leave): the constraint would refuse
    # a second one, and the whole batch's bulk write with it.
    EscalationFiring.objects.create(
        ticket=known,
        clock=row,
        cycle=1,
        level=level,
        policy=level.policy,
        policy_name="Escalations",
        level_number=1,
        kind=FIRST,
        offset=timedelta(0),
        moment=START + H,
        fired_at=START + H,
    )
    with caplog.at_level(logging.WARNING, logger="policies.services.tick"):
        assert clocks_check(now=START + H) == 2
    assert EscalationFiring.objects.filter(ticket=fine).count() == 1
    assert fine.messages.filter(internal=True).count() == 1
    # The known ticket's breach is recorded and its clock moves on; its level is not done twice.
    assert EscalationFiring.objects.filter(ticket=known).count() == 1
    assert not known.messages.filter(internal=True).exists()
    row.refresh_from_db()
    assert (row.breached_at, row.escalated) == (START + H, [level.pk])
    assert TicketEvent.objects.filter(ticket=known, kind=EventKind.SLA).count() == 1
    assert f"level {level.pk} had already fired on clock {row.pk}" in caplog.text
    assert clocks_check(now=START + 2 * H) == 0


def test_a_tick_that_finds_more_than_a_batch_asks_for_help_once(sla: SlaPolicy, account_a: Any) -> None:
    make_escalation_policy(sla_policy=sla)  # a note at the first-response breach
    tickets_opened(account_a, 5, at=START, prefix="burst")  # all long due by now
    asked: list[bool] = []
    assert tick_once(batch=2, on_backlog=lambda: asked.append(True)) == 5
    assert asked == [True]
    assert EscalationFiring.objects.count() == 5
    inbound_ticket(account_a, now=START, sender="alone")
    assert tick_once(batch=2, on_backlog=lambda: asked.append(True)) == 1
    assert asked == [True]


@pytest.mark.parametrize("changes", ["assign_user", "set_priority"])
def test_a_breach_found_while_a_level_fires_on_another_clock_is_recorded(
    sla: SlaPolicy, account_a: Any, agent_a: Any, changes: str
) -> None:
    """The resolution level (at START + 50 m) fires at a tick that comes after the first-response breach (START +
    1 h): the breach gets its SLA event whether or not the level's action matches the ticket again."""
    action = {"assign_user": agent_a} if changes == "assign_user" else {"set_priority": Priority.URGENT}
    make_escalation_policy(sla_policy=sla, levels=[{"kind": RESOLUTION, "offset": -(7 * H + 10 * M), **action}])
    ticket = inbound_ticket(account_a, now=START, sender="late-tick")
    assert clocks_check(now=START + H + 40 * M) == 1
    [breach] = TicketEvent.objects.filter(ticket=ticket, kind=EventKind.SLA)
    assert breach.data == {"clock": FIRST, "cycle": 1, "state": "breached"}
    assert SlaClock.objects.get(ticket=ticket, kind=FIRST).breached_at == START + H
    assert EscalationFiring.objects.get(ticket=ticket).kind == RESOLUTION
    assert clocks_check(now=START + 2 * H) == 0
