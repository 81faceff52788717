"""SLA clocks moved through the real paths: signed webhooks, the agent's reply form, admin edits, the tick.

Every transition of SLA_SEMANTICS.md "Clocks" is driven here from the outside, over HTTP, and read back from
the stored clocks. Instants are the ones the server recorded (event times), so nothing depends on timing.
"""

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from policies.engine import add_business
from policies.models import BusinessCalendar, OpeningInterval, SlaClock, SlaPolicy, SlaTarget, TicketSla
from policies.services.recompute import sla_recompute
from policies.services.tick import clocks_check
from tests.support import admin_form_data, webhook_ticket
from tickets.models import EventKind, Priority, Status, Tag, Ticket
from tickets.services.messages import message_note

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)


def webhook(client: Client, account: Any, sender: str = "c-1", text: str = "Hello") -> Ticket:
    return webhook_ticket(account, sender=sender, text=text, client=client)


def agent_reply(agent: Any, ticket: Ticket, text: str = "On it") -> None:
    client = Client()
    client.force_login(agent)
    assert client.post(f"/tickets/{ticket.number}/reply/", {"text": text}).status_code == 302


def admin_edit(admin_client: Client, ticket: Ticket, **changes: Any) -> None:
    url = f"/admin/tickets/ticket/{ticket.pk}/change/"
    data = admin_form_data(admin_client.get(url).context["adminform"].form)
    data.update({"messages-TOTAL_FORMS": "0", "messages-INITIAL_FORMS": "0"})
    data.update(changes)
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]


def clock(ticket: Ticket, kind: str, cycle: int = 1) -> SlaClock:
    return SlaClock.objects.get(ticket=ticket, kind=kind, cycle=cycle)


def event_time(ticket: Ticket, kind: str) -> Any:
    return ticket.events.filter(kind=kind).latest("id").created_at


def policy(name: str = "Standard", position: int = 100, **conditions: Any) -> SlaPolicy:
    teams, tags = conditions.pop("teams", []), conditions.pop("tags", [])
    created = SlaPolicy.objects.create(name=name, position=position, **conditions)
    created.teams.set(teams)
    created.tags.set(tags)
    return created


def targets(policy: SlaPolicy, priority: int = Priority.NORMAL, **hours: float) -> None:
    for kind, amount in hours.items():
        SlaTarget.objects.create(policy=policy, priority=priority, kind=kind, duration=amount * H)


@pytest.fixture
def standard() -> SlaPolicy:
    standard = policy()
    targets(standard, first_response=1, next_response=2, resolution=8)
    return standard


def test_a_new_ticket_gets_its_policy_the_reasons_and_running_clocks(
    client: Client, account_a: Any, standard: Any
) -> None:
    ticket = webhook(client, account_a)
    created = event_time(ticket, EventKind.CREATED)
    sla = TicketSla.objects.get(ticket=ticket)
    assert sla.policy == standard and sla.policy_name == "Standard"
    assert sla.reasons == ["the first policy in order", "any channel", "any team", "any priority", "any tags"]
    first, resolution = clock(ticket, "first_response"), clock(ticket, "resolution")
    assert (first.state, first.started_at, first.due_at) == ("running", created, created + H)
    assert (resolution.state, resolution.due_at) == ("running", created + 8 * H)
    assert first.next_check_at == first.due_at  # the tick's indexed column
    assert not SlaClock.objects.filter(ticket=ticket, kind="next_response").exists()


def test_the_first_agent_reply_meets_the_first_response(
    client: Client, account_a: Any, agent_a: Any, standard: Any
) -> None:
    ticket = webhook(client, account_a)
    agent_reply(agent_a, ticket)
    first = clock(ticket, "first_response")
    assert first.state == "met" and first.stopped_at == event_time(ticket, EventKind.MESSAGE_OUT)
    assert first.next_check_at is None
    assert TicketSla.objects.get(ticket=ticket).responded_at == first.stopped_at
    assert clock(ticket, "resolution").state == "running"  # a reply does not solve


def test_a_customer_message_before_the_first_reply_starts_no_next_response(
    client: Client, account_a: Any, standard: Any
) -> None:
    ticket = webhook(client, account_a)
    webhook(client, account_a, text="Anyone there?")
    assert list(SlaClock.objects.filter(ticket=ticket).values_list("kind", flat=True)) == [
        "first_response",
        "resolution",
    ]


def test_next_response_runs_one_cycle_per_customer_turn(
    client: Client, account_a: Any, agent_a: Any, standard: Any
) -> None:
    ticket = webhook(client, account_a)
    agent_reply(agent_a, ticket)
    webhook(client, account_a, text="Thanks, but it still fails")
    first_turn = clock(ticket, "next_response", 1)
    asked = event_time(ticket, EventKind.MESSAGE_IN)
    assert (first_turn.state, first_turn.started_at, first_turn.due_at) == ("running", asked, asked + 2 * H)
    webhook(client, account_a, text="Hello?")  # the same wait: no second cycle
    assert SlaClock.objects.filter(ticket=ticket, kind="next_response").count() == 1
    agent_reply(agent_a, ticket)
    assert clock(ticket, "next_response", 1).state == "met"
    webhook(client, account_a, text="One more thing")
    assert clock(ticket, "next_response", 2).state == "running"


def test_pending_pauses_resolution_and_the_customers_answer_resumes_it(
    client: Client, admin_client: Client, account_a: Any, agent_a: Any, standard: Any
) -> None:
    ticket = webhook(client, account_a)
    agent_reply(agent_a, ticket)
    admin_edit(admin_client, ticket, status=Status.PENDING)
    paused = clock(ticket, "resolution")
    assert paused.state == "paused" and paused.due_at is None and paused.next_check_at is None
    assert paused.paused_at == event_time(ticket, EventKind.STATUS)
    used = paused.elapsed
    webhook(client, account_a, text="Here is the screenshot")
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN  # the customer answered: no longer waiting on them
    resumed = clock(ticket, "resolution")
    reopened_at = event_time(ticket, EventKind.STATUS)
    assert resumed.state == "running" and resumed.elapsed == used
    assert resumed.paused_total == reopened_at - paused.paused_at
    assert resumed.due_at == reopened_at + (8 * H - used)


def test_solving_stops_every_clock_and_reopening_resumes_resolution_with_the_time_used(
    client: Client, admin_client: Client, account_a: Any, agent_a: Any, standard: Any
) -> None:
    ticket = webhook(client, account_a)
    admin_edit(admin_client, ticket, status=Status.SOLVED)
    assert set(SlaClock.objects.filter(ticket=ticket).values_list("state", flat=True)) == {"met"}
    assert not SlaClock.objects.filter(ticket=ticket, stopped_at__isnull=True).exists()
    solved = clock(ticket, "resolution")
    webhook(client, account_a, text="It broke again")
    reopened_at = event_time(ticket, EventKind.STATUS)
    again = clock(ticket, "resolution")
    assert again.state == "running" and again.elapsed == solved.elapsed
    assert again.due_at == reopened_at + (8 * H - solved.elapsed)
    # Solving ended the wait for a first answer, so the new message is a next response.
    assert clock(ticket, "next_response").state == "running"


def test_a_solved_ticket_set_back_to_pending_keeps_its_resolution_clock_paused(
    client: Client, admin_client: Client, account_a: Any, standard: Any
) -> None:
    ticket = webhook(client, account_a)
    admin_edit(admin_client, ticket, status=Status.SOLVED)
    used = clock(ticket, "resolution").elapsed
    admin_edit(admin_client, ticket, status=Status.PENDING)
    resolution = clock(ticket, "resolution")
    assert resolution.state == "paused" and resolution.stopped_at is None and resolution.elapsed == used


def test_a_closed_ticket_never_reopens_its_clocks(
    client: Client, admin_client: Client, account_a: Any, standard: Any
) -> None:
    ticket = webhook(client, account_a)
    admin_edit(admin_client, ticket, status=Status.CLOSED)
    new = webhook(client, account_a, text="New problem")
    assert new.pk != ticket.pk
    assert not SlaClock.objects.filter(ticket=ticket, stopped_at__isnull=True).exists()
    assert clock(new, "first_response").state == "running"


def test_the_tick_records_a_breach_and_tells_the_browsers(
    client: Client, account_a: Any, agent_a: Any, standard: Any
) -> None:
    ticket = webhook(client, account_a)
    due = clock(ticket, "first_response").due_at
    assert clocks_check(now=due - timedelta(seconds=1)) == 0
    assert clocks_check(now=due) == 1
    breached = clock(ticket, "first_response")
    assert (breached.state, breached.breached_at, breached.next_check_at) == ("breached", due, None)
    event = ticket.events.get(kind=EventKind.SLA)
    assert event.data == {"clock": "first_response", "cycle": 1, "state": "breached"}
    assert clocks_check(now=due + H) == 0  # recorded once
    agent_reply(agent_a, ticket)
    late = clock(ticket, "first_response")
    assert late.state == "breached" and late.stopped_at is not None  # met late keeps the breach


def test_a_reply_after_the_due_instant_is_breached_even_before_any_tick(
    client: Client, account_a: Any, agent_a: Any
) -> None:
    instant = policy()
    SlaTarget.objects.create(
        policy=instant, priority=Priority.NORMAL, kind="first_response", duration=timedelta(microseconds=1)
    )
    ticket = webhook(client, account_a)
    agent_reply(agent_a, ticket)
    late = clock(ticket, "first_response")
    assert late.state == "breached" and late.breached_at == late.due_at < late.stopped_at


def test_raising_the_priority_matches_the_urgent_policy_and_applies_its_targets_to_the_time_used(
    client: Client, admin_client: Client, account_a: Any, standard: Any
) -> None:
    urgent = policy("Urgent", position=1, priorities=[Priority.URGENT])
    targets(urgent, Priority.URGENT, first_response=0.25, resolution=2)
    ticket = webhook(client, account_a)
    admin_edit(admin_client, ticket, priority=Priority.URGENT)
    sla = TicketSla.objects.get(ticket=ticket)
    assert sla.policy == urgent
    assert sla.reasons == ["the first policy in order", "any channel", "any team", "priority is Urgent", "any tags"]
    first = clock(ticket, "first_response")
    changed_at = event_time(ticket, EventKind.UPDATED)
    assert first.target == H / 4 and first.state == "running"
    assert first.due_at == changed_at + (H / 4 - first.elapsed)
    assert first.elapsed == changed_at - first.started_at  # calendar time: all of it was used


def test_tagging_a_ticket_matches_the_tag_policy_and_a_kind_it_lacks_is_dropped(
    client: Client, admin_client: Client, account_a: Any, standard: Any
) -> None:
    vip = Tag.objects.create(name="vip")
    vip_policy = policy("VIP", position=1, tags=[vip])
    targets(vip_policy, first_response=0.5)  # no resolution target
    ticket = webhook(client, account_a)
    admin_edit(admin_client, ticket, tags=[str(vip.pk)])
    sla = TicketSla.objects.get(ticket=ticket)
    assert sla.policy == vip_policy and "tagged vip" in sla.reasons
    assert clock(ticket, "first_response").target == H / 2
    assert not SlaClock.objects.filter(ticket=ticket, kind="resolution").exists()
    assert ticket.events.filter(kind=EventKind.UPDATED, data__changed__tags=["vip"]).exists()


def test_a_ticket_no_policy_matches_has_no_clocks(client: Client, account_a: Any, team_b: Any) -> None:
    elsewhere = policy("Team B only", teams=[team_b])
    targets(elsewhere, first_response=1)
    ticket = webhook(client, account_a)
    sla = TicketSla.objects.get(ticket=ticket)
    assert sla.policy is None and sla.reasons == []
    assert not SlaClock.objects.filter(ticket=ticket).exists()


def test_business_hours_decide_the_due_instant(client: Client, account_a: Any) -> None:
    office = BusinessCalendar.objects.create(name="Office", time_zone="Asia/Kolkata")
    for weekday in range(5):
        OpeningInterval.objects.create(calendar=office, weekday=weekday, start="09:30", end="18:00")
    business = policy("Business hours", calendar=office)
    targets(business, first_response=3, resolution=20)
    ticket = webhook(client, account_a)
    created = event_time(ticket, EventKind.CREATED)
    spec = office.to_spec()
    assert clock(ticket, "first_response").due_at == add_business(spec, created, 3 * H)
    assert clock(ticket, "resolution").due_at == add_business(spec, created, 20 * H)


def test_a_policy_added_later_starts_the_clocks_from_creation_without_the_pending_time(
    client: Client, admin_client: Client, account_a: Any
) -> None:
    ticket = webhook(client, account_a)
    admin_edit(admin_client, ticket, status=Status.PENDING)
    admin_edit(admin_client, ticket, status=Status.OPEN)
    created = event_time(ticket, EventKind.CREATED)
    went_pending, came_back = ticket.events.filter(kind=EventKind.STATUS).order_by("id")
    late = policy("Added later")
    targets(late, first_response=1, resolution=8)
    assert sla_recompute(ticket_ids=[ticket.pk], now=came_back.created_at, reason="test") == 1
    resolution = clock(ticket, "resolution")
    assert resolution.started_at == created
    assert resolution.elapsed == came_back.created_at - created - (came_back.created_at - went_pending.created_at)
    assert resolution.paused_total == came_back.created_at - went_pending.created_at
    assert clock(ticket, "first_response").elapsed == came_back.created_at - created
    assert ticket.events.filter(kind=EventKind.SLA, data__recomputed="test").exists()


def test_a_reopened_ticket_takes_the_resolution_target_its_policy_has_now(
    client: Client, admin_client: Client, account_a: Any, standard: Any
) -> None:
    ticket = webhook(client, account_a)
    admin_edit(admin_client, ticket, status=Status.SOLVED)
    SlaTarget.objects.filter(policy=standard, kind="resolution").update(duration=timedelta(microseconds=1))
    webhook(client, account_a, text="Still broken")
    reopened = clock(ticket, "resolution")
    assert reopened.target == timedelta(microseconds=1) and reopened.state == "breached"


def test_a_new_calendar_counts_only_the_rest_of_the_target(
    client: Client, admin_client: Client, account_a: Any, standard: Any
) -> None:
    ticket = webhook(client, account_a)
    closed = BusinessCalendar.objects.create(name="Never open", time_zone="UTC")
    OpeningInterval.objects.create(calendar=closed, weekday=0, start="00:00", end="00:01")
    tagged = Tag.objects.create(name="slow")
    slow = policy("Slow", position=1, tags=[tagged], calendar=closed)
    targets(slow, first_response=1)
    admin_edit(admin_client, ticket, tags=[str(tagged.pk)])
    changed_at = event_time(ticket, EventKind.UPDATED)
    first = clock(ticket, "first_response")
    # Measured in calendar time (the old policy) up to the change, then in the new calendar.
    assert first.elapsed == changed_at - first.started_at
    assert first.due_at == add_business(closed.to_spec(), changed_at, H - first.elapsed)


def test_a_ticket_from_before_slas_keeps_its_answer_when_a_policy_arrives(
    client: Client, account_a: Any, agent_a: Any
) -> None:
    ticket = webhook(client, account_a)
    agent_reply(agent_a, ticket)
    TicketSla.objects.filter(ticket=ticket).delete()  # as if it were older than SLA policies
    late = policy("Added later")
    targets(late, first_response=1, resolution=8)
    sla_recompute(ticket_ids=[ticket.pk], now=event_time(ticket, EventKind.MESSAGE_OUT), reason="test")
    assert TicketSla.objects.get(ticket=ticket).responded_at is not None
    assert not SlaClock.objects.filter(ticket=ticket, kind="first_response").exists()
    assert clock(ticket, "resolution").state == "running"


def test_an_internal_note_is_not_the_answer_of_a_ticket_from_before_slas(client: Client, account_a: Any) -> None:
    ticket = webhook(client, account_a)
    message_note(ticket=ticket, text="Checking with the warehouse", now=timezone.now())
    TicketSla.objects.filter(ticket=ticket).delete()  # as if it were older than SLA policies
    late = policy("Added later")
    targets(late, first_response=1)
    sla_recompute(ticket_ids=[ticket.pk], now=timezone.now(), reason="test")
    assert TicketSla.objects.get(ticket=ticket).responded_at is None
    assert clock(ticket, "first_response").state == "running"
