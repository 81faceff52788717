"""An open socket stops receiving a team's events as soon as the user may no longer see them.

These run the consumer in-process (channels' WebsocketCommunicator), so the signal that tells it to
refresh travels through the same channel layer as in the embedded default's single server process.
"""

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Group
from django.db import transaction
from django.test import Client
from django.utils import timezone
from guardian.shortcuts import assign_perm

from helpdesk.asgi import application
from tests.factories import TicketFactory, UserFactory
from tickets.models import EventKind
from tickets.services.audit import ticket_event_record
from tickets.services.tickets import ticket_status_set

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def member(team_b: Any) -> Any:
    """A user who sees team B through a user group."""
    group = await sync_to_async(Group.objects.create)(name="night shift")
    await sync_to_async(assign_perm)("view_team", group, team_b)
    user = await sync_to_async(UserFactory)(username="night")
    await sync_to_async(user.groups.add)(group)
    return user


@pytest.fixture
async def ticket_b(team_b: Any) -> Any:
    return await sync_to_async(TicketFactory)(team=team_b)


@pytest.fixture
async def socket_of(session_cookie: Callable[[Any], str]) -> AsyncIterator[Callable[[Any], Any]]:
    opened: list[WebsocketCommunicator] = []

    async def open_for(user: Any) -> tuple[WebsocketCommunicator, str]:
        cookie = await sync_to_async(session_cookie)(user)
        communicator = WebsocketCommunicator(
            application,
            "/ws/agent/",
            headers=[(b"cookie", f"sessionid={cookie}".encode()), (b"origin", b"http://127.0.0.1")],
        )
        connected, _ = await communicator.connect()
        assert connected
        opened.append(communicator)
        return communicator, cookie

    yield open_for
    for communicator in opened:
        await communicator.disconnect()


async def touch(ticket: Any) -> None:
    """Change the ticket (open <-> pending), so that an event is recorded every time."""
    status = "open" if ticket.status == "pending" else "pending"
    await sync_to_async(ticket_status_set)(ticket=ticket, status=status, now=timezone.now())


async def receives_events(communicator: WebsocketCommunicator, ticket: Any) -> bool:
    """True if a change to `ticket` reaches the socket now (drains what arrives)."""
    await touch(ticket)
    if await communicator.receive_nothing(timeout=0.5):
        return False
    await drain(communicator)
    return True


async def drain(communicator: WebsocketCommunicator) -> None:
    # receive_nothing only peeks; each waiting frame must be taken off the queue.
    while not await communicator.receive_nothing(timeout=0.1):
        await communicator.receive_output()


async def stops_receiving(communicator: WebsocketCommunicator, ticket: Any) -> bool:
    """True once changes to `ticket` stop reaching the socket (the refresh is asynchronous)."""
    for _ in range(10):
        if not await receives_events(communicator, ticket):
            return True
    return False


async def starts_receiving(communicator: WebsocketCommunicator, ticket: Any) -> bool:
    """True once changes to `ticket` reach the socket (the refresh is asynchronous)."""
    for _ in range(10):
        if await receives_events(communicator, ticket):
            return True
    return False


async def test_leaving_the_group_stops_the_events(member: Any, ticket_b: Any, socket_of: Any) -> None:
    communicator, _ = await socket_of(member)
    assert await receives_events(communicator, ticket_b)
    await sync_to_async(member.groups.clear)()
    assert await stops_receiving(communicator, ticket_b)


async def test_deleting_the_group_stops_the_events(member: Any, ticket_b: Any, socket_of: Any) -> None:
    communicator, _ = await socket_of(member)
    assert await receives_events(communicator, ticket_b)
    await sync_to_async(Group.objects.filter(name="night shift").delete)()
    assert await stops_receiving(communicator, ticket_b)


async def test_joining_a_group_starts_the_events(team_b: Any, ticket_b: Any, socket_of: Any) -> None:
    user = await sync_to_async(UserFactory)(username="newcomer")
    communicator, _ = await socket_of(user)
    assert not await receives_events(communicator, ticket_b)
    group = await sync_to_async(Group.objects.create)(name="day shift")
    await sync_to_async(assign_perm)("view_team", group, team_b)
    await sync_to_async(user.groups.add)(group)
    assert await starts_receiving(communicator, ticket_b)


async def test_a_single_ticket_grant_starts_that_tickets_events(agent_a: Any, ticket_b: Any, socket_of: Any) -> None:
    communicator, _ = await socket_of(agent_a)
    assert not await receives_events(communicator, ticket_b)
    await sync_to_async(assign_perm)("view_ticket", agent_a, ticket_b)
    assert await starts_receiving(communicator, ticket_b)


async def test_a_deactivated_user_is_disconnected(member: Any, socket_of: Any) -> None:
    communicator, _ = await socket_of(member)
    member.is_active = False
    await sync_to_async(member.save)()
    assert await communicator.receive_output(timeout=3) == {"type": "websocket.close", "code": 4403}


async def test_signing_out_closes_that_sessions_sockets(member: Any, socket_of: Any) -> None:
    communicator, cookie = await socket_of(member)

    def sign_out() -> None:
        client = Client()
        client.cookies["sessionid"] = cookie
        assert client.post("/accounts/logout/").status_code == 302

    await sync_to_async(sign_out)()
    assert await communicator.receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}


async def test_a_long_absence_is_replayed_in_pages_then_flagged(
    agent_a: Any, team_a: Any, socket_of: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from channels_app import consumers

    monkeypatch.setattr(consumers, "CATCH_UP_PAGE", 3)
    monkeypatch.setattr(consumers, "CATCH_UP_PAGES", 2)
    ticket = await sync_to_async(TicketFactory)(team=team_a)
    communicator, _ = await socket_of(agent_a)
    for _ in range(8):  # 8 events: two full pages of 3 are replayed, 2 remain
        await touch(ticket)
    await drain(communicator)  # drop the live frames: we replay from the start below
    await communicator.send_json_to({"type": "resume", "after": 0})
    frames = [await communicator.receive_json_from() for _ in range(7)]
    assert [f["type"] for f in frames] == ["ticket.event"] * 6 + ["resumed"]
    assert frames[-1]["complete"] is False and frames[-1]["last"] == frames[5]["id"]
    await communicator.send_json_to({"type": "resume", "after": frames[-1]["last"]})
    rest = [await communicator.receive_json_from() for _ in range(3)]
    assert [f["type"] for f in rest[:2]] == ["ticket.event"] * 2
    assert rest[2] == {"type": "resumed", "after": frames[-1]["last"], "complete": True}


async def test_the_events_of_one_commit_arrive_a_frame_each_in_order_and_only_those_allowed(
    member: Any, ticket_b: Any, team_a: Any, socket_of: Callable[[Any], Any]
) -> None:
    hidden = await sync_to_async(TicketFactory)(team=team_a)
    communicator, _ = await socket_of(member)

    def one_commit() -> list[int]:
        # The bus sends these to team B's group as one message; the consumer forwards each frame.
        with transaction.atomic():
            return [
                ticket_event_record(ticket=ticket, kind=EventKind.NOTE, now=timezone.now()).pk
                for ticket in (ticket_b, hidden, ticket_b, ticket_b)
            ]

    ids = await sync_to_async(one_commit)()
    frames = [await communicator.receive_json_from(timeout=3) for _ in range(3)]
    assert [frame["id"] for frame in frames] == [ids[0], ids[2], ids[3]]
    assert await communicator.receive_nothing(timeout=0.5)
