"""Lists hold a constant number of queries, whatever the number of rows (STYLE.md rule 5)."""

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.factories import (
    ChannelAccountFactory,
    ContactIdentityFactory,
    MessageFactory,
    TicketFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def make_tickets(count: int, *, team: Any, assignee: Any) -> list[Any]:
    account = ChannelAccountFactory(team=team)
    return [
        TicketFactory(
            team=team, identity=ContactIdentityFactory(channel_account=account), assignee=assignee if i % 2 else None
        )
        for i in range(count)
    ]


def queries_for(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)


def test_inbox_queries_do_not_grow_with_tickets(agent_a: Any, team_a: Any, settings: Any) -> None:
    settings.HELPDESK_INBOX_PAGE_SIZE = 250  # every ticket on one page, so rows really are rendered
    client = Client()
    client.force_login(agent_a)
    make_tickets(10, team=team_a, assignee=agent_a)
    few = queries_for(client, "/inbox/")
    make_tickets(190, team=team_a, assignee=agent_a)
    many = queries_for(client, "/inbox/")
    # session, user, teams, count, page, newest event id
    assert few == many == 6


def test_ticket_page_queries_do_not_grow_with_tickets_or_messages(agent_a: Any, team_a: Any) -> None:
    client = Client()
    client.force_login(agent_a)
    [ticket] = make_tickets(1, team=team_a, assignee=agent_a)
    author = UserFactory()
    for i in range(10):
        MessageFactory(ticket=ticket, direction="out" if i % 2 else "in", author=author if i % 2 else None)
    make_tickets(9, team=team_a, assignee=agent_a)
    few = queries_for(client, f"/tickets/{ticket.number}/")
    for i in range(190):
        MessageFactory(ticket=ticket, direction="out" if i % 2 else "in", author=UserFactory() if i % 2 else None)
    make_tickets(190, team=team_a, assignee=agent_a)
    many = queries_for(client, f"/tickets/{ticket.number}/")
    # session, user, teams, ticket, messages with authors, newest event id
    assert few == many == 6


@pytest.mark.parametrize(
    "url",
    [
        "/admin/tickets/ticket/",
        "/admin/tickets/message/",
        "/admin/tickets/ticketevent/",
        "/admin/tickets/inbounddelivery/",
        "/admin/tickets/contactidentity/",
        "/admin/tickets/contact/",
        "/admin/tickets/channelaccount/",
    ],
)
def test_admin_changelists_do_not_grow_with_rows(admin_client: Client, team_a: Any, url: str) -> None:
    from tickets.models import InboundDelivery, TicketEvent

    def add(count: int) -> None:
        for ticket in make_tickets(count, team=team_a, assignee=None):
            MessageFactory(ticket=ticket)
            TicketEvent.objects.create(ticket=ticket, kind="created")
            InboundDelivery.objects.create(channel_account=ticket.identity.channel_account, body=b"{}")

    add(10)
    few = queries_for(admin_client, url)
    add(90)
    many = queries_for(admin_client, url)
    assert few == many
