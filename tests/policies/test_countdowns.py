"""What agents see of SLA clocks: the nearest target as a countdown, and the ticket page's SLA panel."""

import re
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from django.test import Client

from policies.countdowns import countdown_span, countdowns_for, ticket_sla_panel
from policies.engine import clocks as engine
from policies.models import BusinessCalendar, OpeningInterval, SlaClock, SlaPolicy, SlaTarget, TargetKind
from policies.services.sla import Schedule, clock_create
from tests.factories import TicketFactory, UserFactory
from tickets.models import Priority, Status, Ticket
from tickets.services.replies import message_reply
from tickets.services.tickets import ticket_for_inbound, ticket_status_set

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
MINUTE, HOUR = timedelta(minutes=1), timedelta(hours=1)

# Clocks with no calendar and no escalation policy.
NO_SCHEDULE = Schedule(None, None)


def policy(name: str = "Standard", *, calendar: BusinessCalendar | None = None, **targets: timedelta) -> SlaPolicy:
    """An enabled policy with the given targets (by TargetKind value) for normal priority."""
    made = SlaPolicy.objects.create(name=name, calendar=calendar)
    for kind, duration in targets.items():
        SlaTarget.objects.create(policy=made, priority=Priority.NORMAL, kind=kind, duration=duration)
    return made


def new_ticket(account: Any, sender: str, *, now: datetime = T0) -> Ticket:
    """A ticket opened by a customer's first message, as the webhook opens one: its clocks start with it."""
    ticket, created = ticket_for_inbound(account=account, sender_id=sender, sender_name=sender, subject="Hi", now=now)
    assert created
    return ticket


@pytest.fixture
def standard(db: None) -> SlaPolicy:
    return policy(first_response=HOUR, resolution=8 * HOUR)


def test_countdown_span_reads_like_a_countdown() -> None:
    assert [countdown_span(s) for s in (0, 45, 65, 3600 + 120, 86400 + 4 * 3600 + 59, -5)] == [
        "0s",
        "45s",
        "1m 05s",
        "1h 02m",
        "1d 04h",
        "0s",
    ]


def test_the_nearest_target_is_ok_then_warning_in_its_last_fifth_then_breached(
    standard: SlaPolicy, account_a: Any
) -> None:
    ticket = new_ticket(account_a, "c-levels")

    ok = countdowns_for([ticket.pk], now=T0 + 10 * MINUTE)[ticket.pk]
    assert (ok.kind, ok.kind_label, ok.level) == (TargetKind.FIRST_RESPONSE, "First response", "ok")
    assert ok.due_at == T0 + HOUR and ok.warn_at == T0 + 48 * MINUTE
    assert ok.text == "OK · 50m 00s left"
    assert ok.due_iso == "2026-03-02T10:00:00.000+00:00"

    warning = countdowns_for([ticket.pk], now=T0 + 48 * MINUTE)[ticket.pk]
    assert (warning.level, warning.text) == ("warning", "Warning · 12m 00s left")

    # Past due and not yet ticked: the countdown says breached all the same.
    breached = countdowns_for([ticket.pk], now=T0 + 63 * MINUTE)[ticket.pk]
    assert (breached.level, breached.text) == ("breached", "Breached · 3m 00s ago")


def test_a_countdown_never_reads_zero_left_before_the_breach(standard: SlaPolicy, account_a: Any) -> None:
    ticket = new_ticket(account_a, "c-ceil")
    almost = countdowns_for([ticket.pk], now=T0 + HOUR - timedelta(milliseconds=300))[ticket.pk]
    assert (almost.level, almost.text) == ("warning", "Warning · 1s left")


def test_after_the_first_reply_the_resolution_clock_is_nearest(standard: SlaPolicy, account_a: Any) -> None:
    ticket = new_ticket(account_a, "c-reply")
    message_reply(ticket=ticket, author=UserFactory(), text="On it", now=T0 + 5 * MINUTE)

    nearest = countdowns_for([ticket.pk], now=T0 + 10 * MINUTE)[ticket.pk]
    assert (nearest.kind, nearest.level, nearest.text) == (TargetKind.RESOLUTION, "ok", "OK · 7h 50m left")


def test_a_paused_clock_shows_the_business_time_it_has_left(standard: SlaPolicy, account_a: Any) -> None:
    ticket = new_ticket(account_a, "c-paused")
    message_reply(ticket=ticket, author=UserFactory(), text="Can you send a photo?", now=T0 + 5 * MINUTE)
    ticket_status_set(ticket=ticket, status=Status.PENDING, now=T0 + 20 * MINUTE)

    paused = countdowns_for([ticket.pk], now=T0 + 5 * HOUR)[ticket.pk]
    assert (paused.kind, paused.level, paused.text) == (TargetKind.RESOLUTION, "paused", "Paused · 7h 40m left")
    assert paused.due_at is None and paused.warn_at is None


def test_a_running_clock_is_nearer_than_a_paused_one_with_less_left(team_a: Any) -> None:
    ticket = TicketFactory(team=team_a)
    running = engine.start(target=4 * HOUR, now=T0, calendar=None)
    paused = engine.pause(engine.start(target=HOUR, now=T0, calendar=None), now=T0 + 50 * MINUTE, calendar=None)
    clock_create(ticket=ticket, kind=TargetKind.NEXT_RESPONSE, clock=running, schedule=NO_SCHEDULE)
    clock_create(ticket=ticket, kind=TargetKind.RESOLUTION, clock=paused, schedule=NO_SCHEDULE)

    nearest = countdowns_for([ticket.pk], now=T0 + HOUR)[ticket.pk]
    assert (nearest.kind, nearest.level) == (TargetKind.NEXT_RESPONSE, "ok")


def test_the_running_clock_due_first_is_nearest(team_a: Any) -> None:
    ticket = TicketFactory(team=team_a)
    clock_create(
        ticket=ticket,
        kind=TargetKind.RESOLUTION,
        clock=engine.start(target=HOUR, now=T0, calendar=None),
        schedule=NO_SCHEDULE,
    )
    clock_create(
        ticket=ticket,
        kind=TargetKind.NEXT_RESPONSE,
        clock=engine.start(target=2 * HOUR, now=T0, calendar=None),
        schedule=NO_SCHEDULE,
    )
    assert countdowns_for([ticket.pk], now=T0)[ticket.pk].kind == TargetKind.RESOLUTION


def test_tickets_without_a_live_clock_have_no_countdown(standard: SlaPolicy, account_a: Any, team_a: Any) -> None:
    solved = new_ticket(account_a, "c-solved")
    ticket_status_set(ticket=solved, status=Status.SOLVED, now=T0 + MINUTE)
    untracked = TicketFactory(team=team_a)  # never matched: no TicketSla, no clocks
    assert countdowns_for([solved.pk, untracked.pk], now=T0 + HOUR) == {}


def test_countdowns_for_a_page_of_tickets_take_one_query(
    standard: SlaPolicy, account_a: Any, django_assert_num_queries: Any
) -> None:
    tickets = [new_ticket(account_a, f"c-page-{i}") for i in range(30)]
    for ticket in tickets[::3]:
        message_reply(ticket=ticket, author=UserFactory(), text="Hello", now=T0 + MINUTE)
    with django_assert_num_queries(1):
        countdowns = countdowns_for([ticket.pk for ticket in tickets], now=T0 + 2 * MINUTE)
    assert len(countdowns) == 30
    assert {countdown.kind for countdown in countdowns.values()} == {TargetKind.FIRST_RESPONSE, TargetKind.RESOLUTION}


def test_the_panel_explains_the_policy_and_lists_every_clock(standard: SlaPolicy, account_a: Any) -> None:
    ticket = new_ticket(account_a, "c-panel")
    message_reply(ticket=ticket, author=UserFactory(), text="Sorry for the wait", now=T0 + 80 * MINUTE)

    panel = ticket_sla_panel(ticket, now=T0 + 2 * HOUR)

    assert panel.policy_name == "Standard"
    assert panel.reasons == ("the first policy in order", "any channel", "any team", "any priority", "any tags")
    assert panel.matched_at == T0 and panel.as_of == T0 + 2 * HOUR
    assert panel.time_zone == "UTC" and "calendar time" in panel.time_zone_note
    first, resolution = panel.lines
    assert (first.kind_label, first.cycle, first.target, first.state) == ("First response", 1, "1h", "breached")
    assert first.state_text == "Breached, met late by 20m"
    assert first.countdown is None and first.left == "1h 20m used"
    assert (resolution.kind_label, resolution.state, resolution.left) == ("Resolution", "running", "6h")
    assert resolution.due_at == T0 + 8 * HOUR
    assert panel.nearest is not None and panel.nearest.kind == TargetKind.RESOLUTION


def test_the_panel_shows_a_met_clock_and_paused_time(standard: SlaPolicy, account_a: Any) -> None:
    ticket = new_ticket(account_a, "c-met")
    message_reply(ticket=ticket, author=UserFactory(), text="Done", now=T0 + 10 * MINUTE)
    ticket_status_set(ticket=ticket, status=Status.PENDING, now=T0 + HOUR)

    first, resolution = ticket_sla_panel(ticket, now=T0 + 3 * HOUR).lines
    assert (first.state, first.state_text) == ("met", "Met")
    assert (resolution.state, resolution.due_at, resolution.left, resolution.paused) == ("paused", None, "7h", "2h")
    assert resolution.countdown is not None and resolution.countdown.level == "paused"


def test_the_panel_counts_business_time_in_the_calendars_zone(account_a: Any) -> None:
    office = BusinessCalendar.objects.create(name="Office", time_zone="Europe/Berlin")
    for day in range(5):
        OpeningInterval.objects.create(calendar=office, weekday=day, start=time(9), end=time(17))
    policy("Office hours", calendar=office, first_response=4 * HOUR)
    # Monday 16:00 in Berlin (15:00 UTC): one business hour today, three on Tuesday.
    ticket = new_ticket(account_a, "c-office", now=datetime(2026, 3, 2, 15, 0, tzinfo=UTC))

    panel = ticket_sla_panel(ticket, now=datetime(2026, 3, 2, 20, 0, tzinfo=UTC))
    [line] = panel.lines
    assert panel.time_zone == "Europe/Berlin" and "“Office”" in panel.time_zone_note
    assert line.due_at == datetime(2026, 3, 3, 11, 0, tzinfo=UTC)  # Tuesday 12:00 in Berlin
    assert line.left == "3h"  # the evening is not business time


def test_the_panel_says_why_no_policy_applies(account_a: Any, team_a: Any) -> None:
    policy("Other channel only", first_response=HOUR)
    SlaPolicy.objects.update(channel_kinds=["whatsapp"])
    ticket = new_ticket(account_a, "c-none")
    panel = ticket_sla_panel(ticket, now=T0)
    assert panel.policy_name == "" and panel.lines == () and panel.nearest is None
    assert panel.explanation.startswith("No SLA policy applies: no enabled SLA policy's conditions")

    never_matched = ticket_sla_panel(TicketFactory(team=team_a), now=T0)
    assert never_matched.explanation.startswith("No SLA policy applies: this ticket has not been checked")


def test_the_pages_carry_the_countdown_for_the_browser(standard: SlaPolicy, account_a: Any, agent_a: Any) -> None:
    ticket = new_ticket(account_a, "c-pages", now=datetime.now(UTC))
    client = Client()
    client.force_login(agent_a)

    inbox = client.get("/inbox/").content.decode()
    row = client.get(f"/inbox/rows/{ticket.pk}/").content.decode()
    page = client.get(f"/tickets/{ticket.number}/").content.decode()

    due = SlaClock.objects.get(ticket=ticket, kind=TargetKind.FIRST_RESPONSE).due_at
    assert due is not None
    for html in (inbox, row, page):
        assert f'data-due="{due.isoformat(timespec="milliseconds")}"' in html
        assert 'data-level="ok"' in html
        assert re.search(r"OK · (1h 00m|59m \d\ds) left", html)
    assert '<th scope="col">SLA</th>' in inbox
    assert 'data-announce="Ticket #' in row
    assert "Standard" in page and "Any channel" in page and "the site&#x27;s time zone" in page
