"""Every inbox page costs the same number of queries with 10 tickets as with 1,000 (STYLE.md rule 5)."""

import itertools
import re
import uuid
from datetime import timedelta
from html import unescape
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from policies.models import SlaClock, TargetKind
from tests.factories import ChannelAccountFactory, UserFactory
from tests.tickets.inbox_data import client_for
from tickets.models import Contact, ContactIdentity, Message, SavedView, Status, Tag, Ticket

pytestmark = pytest.mark.django_db

_numbers = itertools.count(900_000)

URLS = [
    "/inbox/",
    "/inbox/?view=mine&sort=priority",
    "/inbox/?view=unassigned&channel=api",
    "/inbox/?view=teams&status=open&tag=vip",
    "/inbox/?view=breaching&sort=sla",
    "/inbox/?assignee=me&sla=due_soon&q=refund",
]


def bulk_tickets(count: int, *, team: Any, assignee: Any) -> None:
    """`count` tickets of `team`, made in a few bulk inserts: each with a contact, a message and SLA clocks;
    every other one assigned, every third pending, every fifth tagged."""
    now = timezone.now()
    batch = uuid.uuid4().hex[:8]
    account = ChannelAccountFactory(team=team)
    contacts = Contact.objects.bulk_create(Contact(display_name=f"Customer {batch} {i}") for i in range(count))
    identities = ContactIdentity.objects.bulk_create(
        ContactIdentity(contact=contact, channel_account=account, external_id=f"{batch}-{i}")
        for i, contact in enumerate(contacts)
    )
    tickets = Ticket.objects.bulk_create(
        Ticket(
            number=next(_numbers),
            team=team,
            contact=identity.contact,
            identity=identity,
            assignee=assignee if i % 2 else None,
            status=Status.PENDING if i % 3 == 2 else Status.OPEN,
            priority=1 + i % 4,
            preview="Please refund my order",
            last_activity_at=now - timedelta(seconds=i),
        )
        for i, identity in enumerate(identities)
    )
    Message.objects.bulk_create(
        Message(
            ticket=ticket,
            channel_account=account,
            direction="in",
            text=f"Please refund my order {i}",
            external_id=f"{batch}-m-{i}",
            sent_at=now,
            delivery_status="received",
        )
        for i, ticket in enumerate(tickets)
    )
    SlaClock.objects.bulk_create(
        SlaClock(
            ticket=ticket,
            kind=kind,
            target=timedelta(hours=8),
            started_at=now - timedelta(hours=1),
            running_since=now - timedelta(hours=1),
            due_at=now + timedelta(minutes=(i * 37) % 180 - 30 + offset),
            state="running",
        )
        for i, ticket in enumerate(tickets)
        for kind, offset in ((TargetKind.FIRST_RESPONSE, 0), (TargetKind.RESOLUTION, 240))
    )
    vip, _ = Tag.objects.get_or_create(name="vip")
    Ticket.tags.through.objects.bulk_create(
        Ticket.tags.through(ticket=ticket, tag=vip) for i, ticket in enumerate(tickets) if i % 5 == 0
    )


def queries_for(client: Client, url: str) -> tuple[int, str | None]:
    """The number of queries `url` costs, and its next page's URL."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url  # each URL is the canonical one: no redirect
    html = response.content.decode()
    assert response.context["rows"], f"{url} shows tickets"
    assert 'class="sla-countdown"' in html, "the rows show their SLA countdowns"
    found = re.search(r'<a href="([^"]+)" rel="next">', html)
    return len(captured), unescape(found.group(1)) if found else None


@pytest.fixture
def agent(agent_a: Any, team_a: Any) -> Any:
    # Whom the filters offer, and saved views to list: these are read once per page, whatever their number.
    for _ in range(3):
        UserFactory(teams=[team_a])
    for i in range(3):
        SavedView.objects.create(user=agent_a, name=f"View {i}", query="view=mine")
    return agent_a


def test_every_view_costs_the_same_queries_with_10_and_1000_tickets(agent: Any, team_a: Any) -> None:
    client = client_for(agent)
    bulk_tickets(10, team=team_a, assignee=agent)
    few = {url: queries_for(client, url)[0] for url in URLS}
    bulk_tickets(990, team=team_a, assignee=agent)
    many = {}
    for url in URLS:
        many[url], next_url = queries_for(client, url)
        assert next_url is not None, f"{url} has more than one page of 1,000 tickets"
        # A page deep in the list (by cursor, no OFFSET) costs the same.
        assert queries_for(client, next_url)[0] == many[url], next_url
    assert few == many
    # session, user, unread notifications; the filters' teams (the user's team ids, the teams), agents (the
    # user's team ids, the agents) and tags; saved views; the user's team ids (visibility); the page's positions
    # (sort keys only), its tickets, their tags; the newest event id; the page's SLA clocks
    assert set(many.values()) == {15}


def row_queries(client: Client, ticket: Ticket) -> dict[str, tuple[int, int]]:
    """For each view of URLS: the status of `ticket`'s live row in it, and the queries it cost."""
    counts = {}
    for url in URLS:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(f"/inbox/rows/{ticket.pk}/?{url.partition('?')[2]}")
        counts[url] = (response.status_code, len(captured))
    return counts


def test_the_live_row_costs_the_same_queries_with_10_and_1000_tickets(agent: Any, team_a: Any) -> None:
    client = client_for(agent)
    bulk_tickets(10, team=team_a, assignee=agent)
    ticket = Ticket.objects.filter(assignee=agent, tags__name="vip").order_by("pk").first()
    assert ticket is not None
    few = row_queries(client, ticket)
    bulk_tickets(990, team=team_a, assignee=agent)
    assert row_queries(client, ticket) == few
    assert {status for status, _ in few.values()} == {200, 204}
    # session, user, the user's teams, the ticket with its row's data; then its tags and SLA clocks (200), or
    # whether the user may see it at all (204: the user's teams, the ticket). "My teams" reads the teams twice.
    assert max(count for _, count in few.values()) <= 7
