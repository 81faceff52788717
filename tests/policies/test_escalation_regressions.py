"""Defects a review found in the escalation work, each pinned by the scenario that showed it."""

from datetime import time, timedelta
from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from policies.countdowns import ticket_sla_panel
from policies.models import (
    BusinessCalendar,
    EscalationFiring,
    EscalationLevel,
    EscalationPolicy,
    OpeningInterval,
    SlaClock,
    SlaPolicy,
    SlaTarget,
)
from policies.services.tick import clocks_check
from tests.factories import UserFactory
from tests.support import delivery_body, signed_headers, webhook_ticket
from tickets.models import Priority, Ticket
from tickets.services.properties import ticket_priority_set
from tickets.services.replies import message_reply

pytestmark = pytest.mark.django_db

H, M = timedelta(hours=1), timedelta(minutes=1)
FIRST, RESOLUTION = "first_response", "resolution"


@pytest.fixture
def normal_and_urgent(db: None) -> None:
    """Normal tickets have a first-response target; urgent ones have none, so that clock is dropped."""
    normal = SlaPolicy.objects.create(name="Normal", position=1, priorities=[Priority.NORMAL])
    SlaTarget.objects.create(policy=normal, priority=Priority.NORMAL, kind=FIRST, duration=H)
    SlaTarget.objects.create(policy=normal, priority=Priority.NORMAL, kind=RESOLUTION, duration=H)
    urgent = SlaPolicy.objects.create(name="Urgent", position=2, priorities=[Priority.URGENT])
    SlaTarget.objects.create(policy=urgent, priority=Priority.URGENT, kind=RESOLUTION, duration=4 * H)


def level(policy: EscalationPolicy, number: int, kind: str, offset: timedelta, **actions: Any) -> EscalationLevel:
    return EscalationLevel.objects.create(policy=policy, number=number, kind=kind, offset=offset, **actions)


def set_priority(ticket: Ticket, priority: int, now: Any) -> None:
    with transaction.atomic():
        locked = (
            Ticket.objects.select_for_update().select_related("team", "identity__channel_account").get(pk=ticket.pk)
        )
        ticket_priority_set(ticket=locked, priority=Priority(priority), now=now)


def test_a_level_that_drops_another_clock_of_its_ticket_does_not_wedge_the_tick(
    normal_and_urgent: None, account_a: Any
) -> None:
    escalate = EscalationPolicy.objects.create(name="Esc")
    level(escalate, 1, RESOLUTION, -10 * M, set_priority=Priority.URGENT)
    level(escalate, 2, FIRST, -5 * M, note="hurry")
    ticket = webhook_ticket(account_a)
    other = webhook_ticket(account_a, sender="c-2")
    due = SlaClock.objects.get(ticket=other, kind=FIRST).due_at
    # Both levels are due, level 1 first; it makes the ticket urgent, which drops its first-response clock
    # (not yet breached) before level 2 could fire. The tick must read the ticket again, not fire on a
    # clock that is gone.
    clocks_check(now=due - 4 * M)
    for each in (ticket, other):
        assert list(EscalationFiring.objects.filter(ticket=each).values_list("level_number", flat=True)) == [1]
        assert not SlaClock.objects.filter(ticket=each, kind=FIRST).exists()
    assert clocks_check(now=due - 4 * M) == 0


def test_a_team_move_whose_assignee_part_fails_still_reschedules_the_clock(
    account_a: Any, team_a: Any, team_b: Any
) -> None:
    strict = SlaPolicy.objects.create(name="Team B", position=1)
    strict.teams.set([team_b])
    SlaTarget.objects.create(policy=strict, priority=Priority.NORMAL, kind=FIRST, duration=15 * M)
    normal = SlaPolicy.objects.create(name="Normal", position=2)
    SlaTarget.objects.create(policy=normal, priority=Priority.NORMAL, kind=FIRST, duration=H)
    outsider = UserFactory(username="outsider", teams=[team_a])
    escalate = EscalationPolicy.objects.create(name="Esc")
    level(escalate, 1, FIRST, -50 * M, assign_team=team_b, assign_user=outsider)
    level(escalate, 2, FIRST, timedelta(0), note="breached")
    ticket = webhook_ticket(account_a)
    clocks_check(now=ticket.created_at + 10 * M)
    row = SlaClock.objects.get(ticket=ticket, kind=FIRST)
    assert row.due_at == ticket.created_at + 15 * M and row.next_check_at == row.due_at
    clocks_check(now=ticket.created_at + 20 * M)
    assert list(EscalationFiring.objects.values_list("level_number", flat=True).order_by("id")) == [1, 2]


def test_a_dropped_clock_comes_back_with_its_target_and_what_fired_stays_fired(
    normal_and_urgent: None, account_a: Any
) -> None:
    escalate = EscalationPolicy.objects.create(name="Esc")
    level(escalate, 1, FIRST, -30 * M, note="warn")
    level(escalate, 2, FIRST, timedelta(0), note="breached")
    ticket = webhook_ticket(account_a)
    due = SlaClock.objects.get(ticket=ticket, kind=FIRST).due_at
    clocks_check(now=due - 29 * M)
    set_priority(ticket, Priority.URGENT, due - 20 * M)
    assert not SlaClock.objects.filter(ticket=ticket, kind=FIRST).exists()
    set_priority(ticket, Priority.NORMAL, due - 10 * M)
    clocks_check(now=due + H)
    row = SlaClock.objects.get(ticket=ticket, kind=FIRST)
    assert row.state == "breached" and row.started_at == ticket.created_at
    assert list(EscalationFiring.objects.values_list("level_number", flat=True).order_by("id")) == [1, 2]


def test_a_clock_past_due_keeps_its_breach_when_its_target_is_dropped(normal_and_urgent: None, account_a: Any) -> None:
    ticket = webhook_ticket(account_a)
    due = SlaClock.objects.get(ticket=ticket, kind=FIRST).due_at
    set_priority(ticket, Priority.URGENT, due + 30 * M)  # before any tick recorded the breach
    row = SlaClock.objects.get(ticket=ticket, kind=FIRST)
    assert (row.state, row.breached_at, row.ended) == ("breached", due, "dropped")
    # Nobody answered: the ticket page must not say it was met.
    [line] = [line for line in ticket_sla_panel(ticket, now=due + H).lines if line.kind_label == "First response"]
    assert line.state_text == "Breached; the target no longer applies after a policy change"


def test_a_level_due_before_a_late_reply_still_fires(account_a: Any, agent_a: Any) -> None:
    sla = SlaPolicy.objects.create(name="Std")
    SlaTarget.objects.create(policy=sla, priority=Priority.NORMAL, kind=FIRST, duration=H)
    escalate = EscalationPolicy.objects.create(name="Esc")
    level(escalate, 1, FIRST, timedelta(0), note="breached")
    level(escalate, 2, FIRST, 30 * M, note="still nobody")
    ticket = webhook_ticket(account_a)
    due = SlaClock.objects.get(ticket=ticket, kind=FIRST).due_at
    # The tick is behind: the agent answers five minutes after the breach, before any tick ran.
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().select_related("identity__channel_account").get(pk=ticket.pk)
        message_reply(ticket=locked, author=agent_a, text="sorry", now=due + 5 * M)
    clocks_check(now=due + 6 * M)
    assert list(EscalationFiring.objects.values_list("level_number", flat=True)) == [1]  # level 2 cancelled
    assert SlaClock.objects.get(ticket=ticket, kind=FIRST).next_check_at is None
    assert clocks_check(now=due + 2 * H) == 0


def test_a_warning_longer_than_a_sparse_calendar_holds_does_not_stop_intake(account_a: Any) -> None:
    weekend = BusinessCalendar.objects.create(name="Weekend desk", time_zone="Europe/London")
    OpeningInterval.objects.create(calendar=weekend, weekday=5, start=time(10), end=time(12))
    sla = SlaPolicy.objects.create(name="Weekend", calendar=weekend)
    SlaTarget.objects.create(policy=sla, priority=Priority.NORMAL, kind=RESOLUTION, duration=4 * H)
    escalate = EscalationPolicy.objects.create(name="Esc", sla_policy=sla)
    level(escalate, 1, RESOLUTION, -timedelta(days=365), note="a year before")
    body = delivery_body(sender_id="c-9", text="Hello")
    response = Client().post(
        f"/webhooks/api/{account_a.pk}/",
        data=body,
        content_type="application/json",
        headers=signed_headers(account_a.secret, body),
    )
    assert response.status_code == 200
    row = SlaClock.objects.get(kind=RESOLUTION)
    assert row.next_check_at == row.due_at  # the level is "before the cycle began": only the breach is ahead
