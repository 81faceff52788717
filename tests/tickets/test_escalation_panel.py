"""The ticket page's escalations: which policy applies and why, every level that fired and what it did.

Tickets arrive through the signed webhook; levels fire through the tick with `now` passed in, as in
production. The page and its partial (/tickets/<number>/escalations/) are read through the test client.
"""

import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from policies.models import CallState, EscalationFiring, SlaClock, SlaPolicy, SlaTarget, WebhookCall
from policies.services.tick import clocks_check
from tests.factories import TicketFactory, UserFactory
from tests.policies.escalation_helpers import make_escalation_policy
from tests.support import webhook_ticket
from tickets.models import Priority, Tag, Ticket

pytestmark = pytest.mark.django_db

FIRST = "first_response"
SECOND = timedelta(seconds=1)


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def sla(team_a: Any) -> SlaPolicy:
    """Team A's normal tickets: first response in 1 h, resolution in 8 h, calendar time."""
    policy = SlaPolicy.objects.create(name="Standard")
    policy.teams.add(team_a)
    for kind, hours in ((FIRST, 1), ("resolution", 8)):
        SlaTarget.objects.create(policy=policy, priority=Priority.NORMAL, kind=kind, duration=timedelta(hours=hours))
    return policy


@pytest.fixture
def escalated(sla: SlaPolicy, team_a: Any, agent_a: Any, account_a: Any) -> Ticket:
    """A ticket whose first response breached, and the level at the breach that fired on it."""
    vip = Tag.objects.create(name="vip")
    make_escalation_policy(
        name="Breach desk",
        sla_policy=sla,
        teams=[team_a],
        levels=[
            {
                "kind": FIRST,
                "offset": timedelta(0),
                "set_priority": Priority.URGENT,
                "add_tags": [vip],
                "note": "First response breached: take it now.",
                "notify_users": [agent_a],
            }
        ],
    )
    ticket = webhook_ticket(account_a)
    due = SlaClock.objects.get(ticket=ticket, kind=FIRST).due_at
    assert clocks_check(now=due + SECOND) == 1
    return ticket


def section(html: str) -> str:
    found = re.search(r'<section class="escalations-panel".*?</section>', html, re.S)
    assert found, "the page has an escalations section"
    return found.group(0)


def text_of(html: str) -> str:
    """The words of `html`, tags dropped and spaces squeezed, for asserting on what a reader sees."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def test_the_partial_is_for_agents_who_see_the_ticket_only(
    escalated: Ticket, agent_a: Any, agent_b: Any, team_b: Any
) -> None:
    url = f"/tickets/{escalated.number}/escalations/"
    assert client_for(agent_a).get(url).status_code == 200
    assert client_for(agent_b).get(url).status_code == 404
    assert client_for(agent_a).get("/tickets/999999/escalations/").status_code == 404
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    # A ticket of B's team that A cannot see: 404 for A, 200 for B.
    other = TicketFactory(team=team_b)
    assert client_for(agent_a).get(f"/tickets/{other.number}/escalations/").status_code == 404
    assert client_for(agent_b).get(f"/tickets/{other.number}/escalations/").status_code == 200


def test_no_policy_says_so(agent_a: Any, account_a: Any) -> None:
    ticket = webhook_ticket(account_a)
    html = text_of(client_for(agent_a).get(f"/tickets/{ticket.number}/escalations/").content.decode())
    assert "No escalation policy applies" in html
    assert "No escalation level has fired on this ticket." in html


def test_after_a_firing_the_section_says_which_policy_why_and_what_each_action_did(
    escalated: Ticket, agent_a: Any
) -> None:
    html = client_for(agent_a).get(f"/tickets/{escalated.number}/escalations/").content.decode()
    words = text_of(html)

    assert "Policy: Breach desk" in words
    assert "It applies because of the conditions that matched:" in words
    assert "Follows the SLA policy Standard" in words
    firing = EscalationFiring.objects.get(ticket=escalated)
    assert f'id="firing-{firing.pk}"' in html
    assert "Breach desk, level 1" in words
    assert "Target First response, at the breach" in words
    assert f'datetime="{firing.moment.isoformat()}"' in html
    assert f'datetime="{firing.fired_at.isoformat()}"' in html
    assert "Set priority Done Priority set to Urgent" in words
    assert "Add tags Done Tagged vip" in words
    assert "Internal note Done Internal note added" in words
    assert "Notify Done Told agent_a" in words


def test_the_ticket_page_shows_the_new_priority_tags_the_note_and_the_firing(escalated: Ticket, agent_a: Any) -> None:
    html = client_for(agent_a).get(f"/tickets/{escalated.number}/").content.decode()

    priority = re.search(r'<dd id="ticket-priority">(.*?)</dd>', html, re.S)
    assert priority and text_of(priority.group(1)) == "Urgent"
    tags = re.search(r'<dd id="ticket-tags">(.*?)</dd>', html, re.S)
    assert tags and text_of(tags.group(1)) == "vip"
    note = re.search(r'<li class="message message-note".*?</li>', html, re.S)
    assert note, "the note is set apart from the replies"
    assert text_of(note.group(0)).startswith("Internal note · System ·")
    assert "First response breached: take it now." in note.group(0)
    assert "Breach desk, level 1" in text_of(section(html))
    # The escalations come after the reply box, and the live client knows where to fetch them.
    assert html.index('id="reply-form"') < html.index('id="ticket-escalations"')
    assert f'data-escalations-url="/tickets/{escalated.number}/escalations/"' in html


def test_an_agents_note_is_signed_with_their_name(agent_a: Any, account_a: Any) -> None:
    from django.utils import timezone

    from tickets.services.messages import message_note

    ticket = webhook_ticket(account_a)
    message_note(ticket=ticket, text="Called the courier.", now=timezone.now(), author=agent_a)
    html = client_for(agent_a).get(f"/tickets/{ticket.number}/live/").content.decode()
    note = re.search(r'<li class="message message-note".*?</li>', html, re.S)
    assert note and text_of(note.group(0)).startswith("Internal note · agent_a ·")
    assert html.count('class="message message-in"') == 1, "the customer's message stays a message"


def test_firings_are_listed_newest_first_with_the_webhooks_result(
    sla: SlaPolicy, team_a: Any, agent_a: Any, account_a: Any
) -> None:
    make_escalation_policy(
        name="Two steps",
        sla_policy=sla,
        teams=[team_a],
        levels=[
            {"kind": FIRST, "offset": timedelta(minutes=-10), "note": "Ten minutes left."},
            {"kind": FIRST, "offset": timedelta(0), "webhook_url": "https://hooks.example.com/breach"},
        ],
    )
    ticket = webhook_ticket(account_a)
    due = SlaClock.objects.get(ticket=ticket, kind=FIRST).due_at
    clocks_check(now=due - timedelta(minutes=10) + SECOND)
    clocks_check(now=due + SECOND)
    client = client_for(agent_a)
    url = f"/tickets/{ticket.number}/escalations/"

    words = text_of(client.get(url).content.decode())
    assert words.index("Two steps, level 2") < words.index("Two steps, level 1")
    assert "First response, 10m before due" in words
    assert "Webhook Queued Call" in words

    WebhookCall.objects.filter(firing__ticket=ticket).update(state=CallState.SUCCEEDED, attempts=2)
    assert "Webhook Done Call" in text_of(client.get(url).content.decode())
    assert "succeeded after 2 attempts" in text_of(client.get(url).content.decode())


def test_the_partial_costs_the_same_queries_for_one_firing_or_many(
    escalated: Ticket, agent_a: Any, team_a: Any
) -> None:
    client = client_for(agent_a)
    url = f"/tickets/{escalated.number}/escalations/"

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    few = queries()
    firing = EscalationFiring.objects.get(ticket=escalated)
    for cycle in range(2, 30):
        copy = EscalationFiring.objects.create(
            ticket=escalated,
            clock=None,
            cycle=cycle,
            policy_name=firing.policy_name,
            level_number=1,
            kind=firing.kind,
            offset=firing.offset,
            moment=firing.moment,
            fired_at=firing.fired_at,
            outcomes=[{"action": "webhook", "status": "queued", "detail": "queued", "call": "0"}],
        )
        WebhookCall.objects.create(
            firing=copy, url="https://hooks.example.com/", secret="s", body="{}", created_at=firing.fired_at
        )
    many = queries()
    # session, user, teams, ticket, ticket SLA, firings, their webhook calls
    assert few == many == 7


def test_a_user_granted_the_ticket_alone_sees_its_escalations(escalated: Ticket) -> None:
    from guardian.shortcuts import assign_perm

    outsider = UserFactory()
    assert client_for(outsider).get(f"/tickets/{escalated.number}/escalations/").status_code == 404
    assign_perm("view_ticket", outsider, escalated)
    assert client_for(outsider).get(f"/tickets/{escalated.number}/escalations/").status_code == 200
