"""The dry run of an escalation policy on a ticket: the timeline service, then its admin page.

Tickets are opened, answered and paused through the services the webhook and the reply form call, each at
an instant passed in, and levels are fired by the tick with `now` passed in; so every moment is exact.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from guardian.shortcuts import assign_perm

from policies.models import BusinessCalendar, EscalationPolicy, SlaPolicy, SlaTarget
from policies.services.tick import clocks_check
from policies.services.timeline import (
    LevelState,
    TimelineRow,
    escalation_following,
    escalation_timeline,
    timeline_zone,
)
from tests.factories import TicketFactory, UserFactory
from tests.policies.escalation_helpers import inbound_ticket, make_escalation_policy
from tests.support import webhook_ticket
from tickets.models import ChannelKind, Priority, Status, Tag, Ticket
from tickets.services.replies import message_reply
from tickets.services.tickets import ticket_status_set

pytestmark = pytest.mark.django_db

H, M = timedelta(hours=1), timedelta(minutes=1)
FIRST, NEXT, RESOLUTION = "first_response", "next_response", "resolution"
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday


@pytest.fixture
def standard() -> SlaPolicy:
    """Every ticket, calendar time: first response in 1 h, next response in 2 h, resolution in 8 h."""
    policy = SlaPolicy.objects.create(name="Standard")
    for kind, hours in ((FIRST, 1), (NEXT, 2), (RESOLUTION, 8)):
        SlaTarget.objects.create(policy=policy, priority=Priority.NORMAL, kind=kind, duration=hours * H)
    return policy


@pytest.fixture
def four_levels(standard: SlaPolicy) -> EscalationPolicy:
    return make_escalation_policy(
        name="Four levels",
        sla_policy=standard,
        levels=[
            {"kind": FIRST, "offset": -2 * H, "note": "too early to ever fire"},
            {"kind": FIRST, "offset": -10 * M, "note": "first response due in 10 minutes"},
            {"kind": NEXT, "offset": timedelta(0), "note": "next response breached"},
            {"kind": RESOLUTION, "offset": H, "note": "an hour past resolution"},
        ],
    )


def states(rows: list[TimelineRow]) -> list[tuple[int, int | None, str]]:
    return [(row.level_number, row.cycle, row.state.value) for row in rows]


def by_level(rows: list[TimelineRow], number: int, cycle: int | None = 1) -> TimelineRow:
    return next(row for row in rows if row.level_number == number and row.cycle == cycle)


# The service.


def test_a_fresh_ticket_shows_never_upcoming_and_no_clock(four_levels: EscalationPolicy, account_a: Any) -> None:
    ticket = inbound_ticket(account_a, now=T0)
    rows = escalation_timeline(ticket=ticket, policy=four_levels, now=T0 + 30 * M)
    assert states(rows) == [(1, 1, "never"), (2, 1, "upcoming"), (3, None, "no clock"), (4, 1, "upcoming")]
    never, warning, none, resolution = rows
    assert never.moment == T0 - H and never.detail == "its moment falls 1h before the cycle started"
    assert warning.moment == T0 + 50 * M and warning.detail == "in 20m"
    assert warning.when == "First response, 10m before due"
    assert none.moment is None and none.detail == "the ticket has no next response clock"
    assert resolution.moment == T0 + 9 * H and resolution.detail == "in 8h 30m"


def test_a_level_is_due_once_its_moment_passed_and_fired_after_the_tick(
    four_levels: EscalationPolicy, account_a: Any
) -> None:
    ticket = inbound_ticket(account_a, now=T0)
    due = by_level(escalation_timeline(ticket=ticket, policy=four_levels, now=T0 + 55 * M), 2)
    assert due.state == LevelState.DUE
    assert due.detail == "its moment passed 5m ago: the next tick fires it"
    clocks_check(now=T0 + 55 * M)
    fired = by_level(escalation_timeline(ticket=ticket, policy=four_levels, now=T0 + 56 * M), 2)
    assert fired.state == LevelState.FIRED
    assert (fired.moment, fired.fired_at) == (T0 + 50 * M, T0 + 55 * M)
    assert fired.detail == "fired 5m after its moment"
    assert fired.outcomes == ({"action": "note", "status": "done", "detail": "internal note added"},)


def test_a_reply_cancels_and_each_next_response_cycle_has_its_own_row(
    four_levels: EscalationPolicy, account_a: Any, agent_a: Any
) -> None:
    ticket = inbound_ticket(account_a, now=T0)
    message_reply(ticket=ticket, author=agent_a, text="On it", now=T0 + 40 * M)
    inbound_ticket(account_a, now=T0 + 65 * M, text="Any news?")  # next response, cycle 1, due 12:05
    message_reply(ticket=ticket, author=agent_a, text="Soon", now=T0 + 90 * M)
    inbound_ticket(account_a, now=T0 + 2 * H, text="Still waiting")  # cycle 2, due 13:00
    rows = escalation_timeline(ticket=ticket, policy=four_levels, now=T0 + 2 * H + M)
    assert states(rows) == [
        (1, 1, "never"),
        (2, 1, "cancelled"),
        (3, 1, "cancelled"),
        (3, 2, "upcoming"),
        (4, 1, "upcoming"),
    ]
    assert by_level(rows, 2).detail == "the clock was met 10m before this moment"
    assert by_level(rows, 3).moment == T0 + 3 * H + 5 * M
    assert by_level(rows, 3).detail == "the clock was met 1h 35m before this moment"
    assert by_level(rows, 3, cycle=2).moment == T0 + 4 * H


def test_a_reply_after_an_unticked_moment_leaves_it_to_fire(
    four_levels: EscalationPolicy, account_a: Any, agent_a: Any
) -> None:
    ticket = inbound_ticket(account_a, now=T0)
    message_reply(ticket=ticket, author=agent_a, text="On it", now=T0 + 55 * M)  # no tick ran at 09:50
    row = by_level(escalation_timeline(ticket=ticket, policy=four_levels, now=T0 + H), 2)
    assert row.state == LevelState.DUE
    assert row.detail == "its moment came before the clock stopped: the next tick fires it"


def test_a_paused_clock_holds_its_levels(four_levels: EscalationPolicy, account_a: Any) -> None:
    ticket = inbound_ticket(account_a, now=T0)
    ticket_status_set(ticket=ticket, status=Status.PENDING, now=T0 + H)
    row = by_level(escalation_timeline(ticket=ticket, policy=four_levels, now=T0 + 2 * H), 4)
    assert row.state == LevelState.HELD and row.moment is None
    assert row.detail == "the clock is paused: the moment is set again when it resumes"
    ticket_status_set(ticket=ticket, status=Status.SOLVED, now=T0 + 3 * H)
    row = by_level(escalation_timeline(ticket=ticket, policy=four_levels, now=T0 + 4 * H), 4)
    assert (row.state, row.detail) == (LevelState.CANCELLED, "the clock was met while paused, before this moment")


def test_a_negative_offset_counts_business_time_and_times_read_in_the_calendar_zone(
    office: BusinessCalendar, account_a: Any
) -> None:
    sla = SlaPolicy.objects.create(name="Office", calendar=office)
    SlaTarget.objects.create(policy=sla, priority=Priority.NORMAL, kind=FIRST, duration=2 * H)
    policy = make_escalation_policy(
        sla_policy=sla,
        levels=[{"kind": FIRST, "offset": -90 * M, "note": "warn"}, {"kind": FIRST, "offset": 30 * M, "note": "late"}],
    )
    friday = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)  # London is on GMT: 16:00 local, one business hour left
    ticket = inbound_ticket(account_a, now=friday)
    warning, late = escalation_timeline(ticket=ticket, policy=policy, now=friday)
    # Due Monday 10:00; 90 business minutes before that is Friday 16:30, not Monday 08:30.
    assert warning.moment == datetime(2026, 11, 27, 16, 30, tzinfo=UTC)
    assert late.moment == datetime(2026, 11, 30, 10, 30, tzinfo=UTC)  # after the due time: calendar time
    assert timeline_zone(ticket).key == "Europe/London"


def test_following_says_why_a_ticket_follows_a_policy(four_levels: EscalationPolicy, account_a: Any) -> None:
    ticket = inbound_ticket(account_a, now=T0)
    following = escalation_following(ticket=ticket, policy=four_levels)
    assert following.follows
    assert following.explanation.startswith(f"Ticket #{ticket.number} follows this policy: the first policy in order")
    assert "follows the SLA policy Standard" in following.explanation
    four_levels.enabled = False
    four_levels.save()  # the ticket's row still names it until the recompute: its levels no longer fire
    disabled = escalation_following(ticket=ticket, policy=four_levels)
    assert not disabled.follows
    assert "was matched to this policy, but the policy is disabled now: its levels do not fire" in disabled.explanation


def test_following_names_each_condition_a_ticket_fails(standard: SlaPolicy, account_a: Any, team_b: Any) -> None:
    vip = Tag.objects.create(name="vip")
    gold = SlaPolicy.objects.create(name="Gold")
    policy = make_escalation_policy(
        name="Picky",
        sla_policy=gold,
        teams=[team_b],
        tags=[vip],
        channel_kinds=[ChannelKind.WHATSAPP],
        priorities=[Priority.HIGH, Priority.URGENT],
        enabled=False,
    )
    ticket = inbound_ticket(account_a, now=T0)
    following = escalation_following(ticket=ticket, policy=policy)
    assert not following.follows
    assert following.explanation == (
        f"Ticket #{ticket.number} does not follow this policy now: this policy is disabled; "
        "it follows the SLA policy “Standard”, and this policy applies only to tickets of “Gold”; "
        "its channel is Generic API, not WhatsApp; its team is Team A, not Team B; "
        "its priority is Normal, not High or Urgent; it has none of the tags vip. It follows no escalation policy."
    )


def test_following_names_the_policy_that_comes_first(standard: SlaPolicy, account_a: Any) -> None:
    make_escalation_policy(name="First", position=1)
    later = make_escalation_policy(name="Later", position=50)
    ticket = inbound_ticket(account_a, now=T0)
    explanation = escalation_following(ticket=ticket, policy=later).explanation
    assert "it matches, but “First” (position 1) comes first and matches it too. It follows “First”." in explanation


def test_a_ticket_without_an_sla_record_follows_nothing(standard: SlaPolicy, four_levels: EscalationPolicy) -> None:
    ticket = TicketFactory()
    following = escalation_following(ticket=ticket, policy=four_levels)
    assert not following.follows and "has no SLA record" in following.explanation
    assert states(escalation_timeline(ticket=ticket, policy=four_levels, now=T0))[2] == (3, None, "no clock")


# The admin page.


def dry_run_url(policy: EscalationPolicy) -> str:
    return f"/admin/policies/escalationpolicy/{policy.pk}/dry-run/"


def dry_run(client: Client, policy: EscalationPolicy, ticket: Any) -> str:
    response = client.get(dry_run_url(policy), {"ticket": str(ticket)})
    assert response.status_code == 200
    return str(response.content.decode())


def test_the_dry_run_page_shows_each_level_in_the_calendar_zone_and_utc(
    admin_client: Client, four_levels: EscalationPolicy, account_a: Any
) -> None:
    ticket = webhook_ticket(account_a)
    change_page = admin_client.get(f"/admin/policies/escalationpolicy/{four_levels.pk}/change/")
    assert dry_run_url(four_levels) in change_page.content.decode()
    assert 'id="dry-run-form"' in dry_run(admin_client, four_levels, "")  # the form alone, no refusal
    page = dry_run(admin_client, four_levels, ticket.number)
    assert f"Ticket #{ticket.number} follows this policy" in page
    assert "Times in UTC, the time zone the ticket's clocks count in" in page
    clock = ticket.sla_clocks.get(kind=FIRST)
    warning = (clock.due_at - 10 * M).astimezone(UTC)
    assert warning.strftime("%a %Y-%m-%d %H:%M") in page
    for state in ("never", "upcoming", "no clock"):
        assert f"<td>{state}</td>" in page
    clocks_check(now=clock.due_at)
    fired = dry_run(admin_client, four_levels, ticket.number)
    assert "<td>fired</td>" in fired and "note (done): internal note added" in fired


def test_the_dry_run_page_shows_moments_in_the_calendar_zone(
    admin_client: Client, office: BusinessCalendar, account_a: Any
) -> None:
    sla = SlaPolicy.objects.create(name="Office", calendar=office)
    SlaTarget.objects.create(policy=sla, priority=Priority.NORMAL, kind=FIRST, duration=2 * H)
    policy = make_escalation_policy(sla_policy=sla, levels=[{"kind": FIRST, "offset": -90 * M, "note": "warn"}])
    ticket = inbound_ticket(account_a, now=datetime(2026, 7, 3, 15, 0, tzinfo=UTC))  # Friday 16:00 in London (BST)
    page = dry_run(admin_client, policy, ticket.number)
    assert "Times in Europe/London" in page
    assert "<td>Fri 2026-07-03 16:30 BST (UTC+01:00)</td>" in page
    assert "<td>Fri 2026-07-03 15:30 UTC (UTC+00:00)</td>" in page


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("abc", "Give a ticket number, like 1042."),
        ("-3", "Give a ticket number, like 1042."),
        ("99999999999999999999999", "Give a ticket number, like 1042."),
        ("424242", "There is no ticket #424242 that you may see."),
    ],
)
def test_a_bad_ticket_number_is_a_message_not_an_error(
    admin_client: Client, four_levels: EscalationPolicy, number: str, message: str
) -> None:
    assert message in dry_run(admin_client, four_levels, number)


@pytest.fixture
def lead(team_a: Any) -> Any:
    user = UserFactory(username="lead", is_staff=True, teams=[team_a])
    codenames = ["view_escalationpolicy", "change_escalationpolicy", "view_escalationlevel"]
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    assign_perm("manage_policies", user, team_a)
    return user


def test_a_lead_tries_only_their_policies_on_tickets_they_may_see(
    lead: Any, team_a: Any, team_b: Any, account_a: Any, account_b: Any
) -> None:
    mine = make_escalation_policy(name="Mine", teams=[team_a])
    theirs = make_escalation_policy(name="Theirs", teams=[team_b])
    own_ticket: Ticket = webhook_ticket(account_a, sender="a-1")
    other_ticket: Ticket = webhook_ticket(account_b, sender="b-1")
    client = Client()
    client.force_login(lead)
    assert f"Ticket #{own_ticket.number}" in dry_run(client, mine, own_ticket.number)
    refused = dry_run(client, mine, other_ticket.number)
    assert f"There is no ticket #{other_ticket.number} that you may see." in refused
    assert '<table id="timeline">' not in refused
    assert client.get(dry_run_url(theirs), {"ticket": own_ticket.number}).status_code == 404
