"""Lists hold a constant number of queries, whatever the number of rows (STYLE.md rule 5)."""

import itertools
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from policies.models import EscalationFiring, SlaPolicy, SlaTarget, TargetKind, WebhookCall
from tests.factories import ChannelAccountFactory, MessageFactory, UserFactory
from tickets.models import Attachment, AttachmentState, Notification, Priority, Status, Tag, Ticket
from tickets.services.tickets import ticket_for_inbound, ticket_status_set

pytestmark = pytest.mark.django_db

_senders = itertools.count()


@pytest.fixture(autouse=True)
def sla_policy(db: None) -> SlaPolicy:
    """A policy for every ticket, so each row and page shows SLA clocks (running, and paused)."""
    policy = SlaPolicy.objects.create(name="Standard")
    for kind, hours in ((TargetKind.FIRST_RESPONSE, 1), (TargetKind.RESOLUTION, 8)):
        SlaTarget.objects.create(policy=policy, priority=Priority.NORMAL, kind=kind, duration=timedelta(hours=hours))
    return policy


def make_tickets(count: int, *, team: Any, assignee: Any) -> list[Any]:
    """Tickets opened as a customer's message opens them (their SLA clocks start); every third one pending."""
    account = ChannelAccountFactory(team=team)
    tickets = []
    for i in range(count):
        now = timezone.now()
        sender = f"sender-{next(_senders)}"
        ticket, _created = ticket_for_inbound(
            account=account, sender_id=sender, sender_name=sender, subject="Hi", now=now
        )
        if i % 2:
            ticket.assignee = assignee
            ticket.save(update_fields=["assignee"])
        if i % 3 == 2:
            ticket_status_set(ticket=ticket, status=Status.PENDING, now=now)
        tickets.append(ticket)
    return tickets


def queries_for(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    if not url.startswith("/admin/"):
        assert b'class="sla-countdown"' in response.content, "the rows show their SLA countdowns"
    return len(captured)


def test_inbox_queries_do_not_grow_with_tickets(agent_a: Any, team_a: Any, settings: Any) -> None:
    settings.HELPDESK_INBOX_PAGE_SIZE = 250  # every ticket on one page, so rows really are rendered
    client = Client()
    client.force_login(agent_a)
    make_tickets(10, team=team_a, assignee=agent_a)
    few = queries_for(client, "/inbox/")
    make_tickets(190, team=team_a, assignee=agent_a)
    many = queries_for(client, "/inbox/")
    # session, user, unread notifications, the filters' choices (5), saved views, the user's teams, the page (a
    # keyset page, no count: its positions, then its tickets), their tags, newest event id, the page's live SLA
    # clocks (every inbox view and filter: tests/tickets/test_inbox_query_counts.py)
    assert few == many == 15


def add_firings(ticket: Ticket, count: int) -> None:
    """Escalation firings on `ticket` as the tick records them, each with a webhook call (its section lists them)."""
    now = timezone.now()
    for _ in range(count):
        cycle = EscalationFiring.objects.filter(ticket=ticket).count() + 1
        firing = EscalationFiring.objects.create(
            ticket=ticket,
            cycle=cycle,
            policy_name="Breach desk",
            level_number=1,
            kind=TargetKind.FIRST_RESPONSE,
            offset=timedelta(0),
            moment=now,
            fired_at=now,
            outcomes=[{"action": "note", "status": "done", "detail": "internal note added"}],
        )
        call = WebhookCall.objects.create(
            firing=firing, url="https://hooks.example.com/", secret="s", body="{}", created_at=now
        )
        firing.outcomes.append({"action": "webhook", "status": "queued", "detail": "queued", "call": str(call.pk)})
        firing.save(update_fields=["outcomes"])


def add_notes(ticket: Ticket, count: int, *, author: Any) -> None:
    for i in range(count):
        MessageFactory(
            ticket=ticket,
            direction="out",
            internal=True,
            delivery_status="note",
            external_id=None,
            author=author if i % 2 else None,
        )


def test_ticket_page_queries_do_not_grow_with_tickets_messages_tags_or_firings(agent_a: Any, team_a: Any) -> None:
    client = Client()
    client.force_login(agent_a)
    [ticket] = make_tickets(1, team=team_a, assignee=agent_a)
    author = UserFactory()
    for i in range(10):
        MessageFactory(ticket=ticket, direction="out" if i % 2 else "in", author=author if i % 2 else None)
    add_notes(ticket, 2, author=author)
    ticket.tags.add(Tag.objects.create(name="vip"))
    add_firings(ticket, 1)
    Notification.objects.create(user=agent_a, ticket=ticket, text="Escalated", created_at=timezone.now())
    make_tickets(9, team=team_a, assignee=agent_a)
    few = queries_for(client, f"/tickets/{ticket.number}/")
    for i in range(190):
        message = MessageFactory(
            ticket=ticket, direction="out" if i % 2 else "in", author=UserFactory() if i % 2 else None
        )
        if i % 10 == 0:
            Attachment.objects.create(message=message, position=0, kind="file", state=AttachmentState.FAILED)
    add_notes(ticket, 20, author=UserFactory())
    ticket.tags.add(*[Tag.objects.create(name=f"tag-{i}") for i in range(10)])
    add_firings(ticket, 30)
    for _ in range(20):
        Notification.objects.create(user=agent_a, ticket=ticket, text="Escalated", created_at=timezone.now())
    make_tickets(190, team=team_a, assignee=agent_a)
    many = queries_for(client, f"/tickets/{ticket.number}/")
    # session, user, teams, ticket, its tags, messages with authors and templates, their attachments, SLA policy,
    # SLA clocks, escalation policy, firings, their webhook calls, newest event id, unread notifications;
    # the properties panel: assignable agents (teams, ids), those of them who see the ticket, tag suggestions;
    # the contact panel: identities shown (teams, teams of the visible tickets, identities), other tickets (teams,
    # tickets)
    assert few == many == 23


def test_ticket_live_partial_queries_do_not_grow_with_messages(agent_a: Any, team_a: Any) -> None:
    client = Client()
    client.force_login(agent_a)
    [ticket] = make_tickets(1, team=team_a, assignee=agent_a)
    add_notes(ticket, 2, author=agent_a)
    few = queries_for(client, f"/tickets/{ticket.number}/live/")
    add_notes(ticket, 40, author=UserFactory())
    ticket.tags.add(*[Tag.objects.create(name=f"tag-{i}") for i in range(10)])
    many = queries_for(client, f"/tickets/{ticket.number}/live/")
    # session, user, teams, ticket, its tags, messages with authors and templates, their attachments, SLA policy,
    # SLA clocks
    assert few == many == 9


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
