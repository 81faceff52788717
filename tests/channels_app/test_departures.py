"""A ticket moved to another team leaves the old team's pages: its agents hear that it left, and no more."""

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from policies.models import SlaClock, SlaPolicy, SlaTarget
from policies.services.tick import clocks_check
from tests.channels_app.conftest import drain, frame_where
from tests.factories import UserFactory
from tests.policies.escalation_helpers import make_escalation_policy
from tests.support import webhook_ticket
from tickets.models import Priority, Status, TicketEvent
from tickets.selectors import latest_event_id
from tickets.services.properties import ticket_assign
from tickets.services.tickets import ticket_status_set

pytestmark = pytest.mark.django_db(transaction=True)

Socket = Callable[[Any], Awaitable[WebsocketCommunicator]]


@pytest.fixture
async def bea(team_b: Any) -> Any:
    """In team B only."""
    return await sync_to_async(UserFactory)(username="bea", first_name="Bea", teams=[team_b])


@pytest.fixture
async def dana(team_a: Any, team_b: Any) -> Any:
    """In both teams."""
    return await sync_to_async(UserFactory)(username="dana", first_name="Dana", teams=[team_a, team_b])


async def move(ticket: Any, team: Any) -> int:
    """Move `ticket` to `team` as an agent's reassignment does; the id of the event."""
    await sync_to_async(ticket_assign)(ticket=ticket, team=team, now=timezone.now())
    return await sync_to_async(latest_event_id)()


async def test_the_old_team_hears_only_that_the_ticket_left(
    agent_socket: Socket, ticket: Any, team_b: Any, ann: Any, bea: Any, dana: Any
) -> None:
    ann_ws, bea_ws, dana_ws = [await agent_socket(user) for user in (ann, bea, dana)]
    event_id = await move(ticket, team_b)

    # Not the new team, the assignee or the status: the event's id and the ticket's id.
    assert await ann_ws.receive_json_from() == {"type": "ticket.left", "id": event_id, "ticket": {"id": ticket.pk}}
    assert await ann_ws.receive_nothing(timeout=0.3)
    moved = await bea_ws.receive_json_from()
    assert (moved["type"], moved["kind"], moved["id"]) == ("ticket.event", "assigned", event_id)
    # A member of both teams still sees the ticket: the event, and no word of leaving.
    assert [(f["type"], f["id"]) for f in await drain(dana_ws)] == [("ticket.event", event_id)]

    # From then on the old team hears nothing about it.
    await sync_to_async(ticket_status_set)(ticket=ticket, status=Status.PENDING, now=timezone.now())
    await frame_where(bea_ws, lambda frame: frame.get("kind") == "status")
    assert await ann_ws.receive_nothing(timeout=0.3)


async def test_a_watcher_who_can_no_longer_see_the_ticket_leaves_its_presence(
    agent_socket: Socket, ticket: Any, team_b: Any, ann: Any, dana: Any
) -> None:
    ann_ws, dana_ws = await agent_socket(ann), await agent_socket(dana)
    for communicator in (ann_ws, dana_ws):
        await communicator.send_json_to({"type": "watch", "ticket": ticket.pk})
    await frame_where(dana_ws, lambda frame: frame["type"] == "presence" and len(frame["viewers"]) == 2)
    await move(ticket, team_b)
    await frame_where(ann_ws, lambda frame: frame["type"] == "ticket.left")
    await frame_where(dana_ws, lambda frame: frame["type"] == "presence" and frame["viewers"][0]["name"] == "Dana")
    await ann_ws.send_json_to({"type": "typing", "ticket": ticket.pk})
    assert (await ann_ws.receive_json_from())["error"] == "watch the ticket before typing on it"


async def test_an_escalation_that_moves_the_ticket_tells_the_old_team(
    agent_socket: Socket, account_a: Any, team_b: Any, ann: Any
) -> None:
    def escalating_ticket() -> Any:
        sla = SlaPolicy.objects.create(name="Standard")
        SlaTarget.objects.create(
            policy=sla, priority=Priority.NORMAL, kind="first_response", duration=timedelta(hours=1)
        )
        level = {"kind": "first_response", "offset": timedelta(0), "assign_team": team_b}
        make_escalation_policy(sla_policy=sla, levels=[level])
        return webhook_ticket(account_a)

    ticket = await sync_to_async(escalating_ticket)()
    ann_ws = await agent_socket(ann)
    due = await sync_to_async(lambda: SlaClock.objects.get(ticket=ticket, kind="first_response").due_at)()
    await sync_to_async(clocks_check)(now=due)
    left = await frame_where(ann_ws, lambda frame: frame["type"] == "ticket.left")
    moved = await sync_to_async(TicketEvent.objects.get)(pk=left["id"])
    assert (moved.kind, moved.data["team"]["to"], left["ticket"]) == ("assigned", team_b.pk, {"id": ticket.pk})


async def test_a_socket_that_was_away_hears_of_the_move_when_it_catches_up(
    agent_socket: Socket, ticket: Any, team_b: Any, ann: Any, bea: Any
) -> None:
    before = await sync_to_async(latest_event_id)()
    event_id = await move(ticket, team_b)
    await sync_to_async(ticket_status_set)(ticket=ticket, status=Status.PENDING, now=timezone.now())

    ann_ws = await agent_socket(ann)
    await ann_ws.send_json_to({"type": "resume", "after": before})
    assert await ann_ws.receive_json_from() == {"type": "ticket.left", "id": event_id, "ticket": {"id": ticket.pk}}
    assert await ann_ws.receive_json_from() == {"type": "resumed", "after": before, "complete": True}

    # The new team catches up on the events themselves, and hears of no leaving.
    bea_ws = await agent_socket(bea)
    await bea_ws.send_json_to({"type": "resume", "after": before})
    frames = [await bea_ws.receive_json_from() for _ in range(3)]
    assert [frame.get("kind") for frame in frames] == ["assigned", "status", None]
    assert frames[-1]["type"] == "resumed"
