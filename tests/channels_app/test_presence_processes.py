"""Presence across server processes, as in production: a socket on the live server and one in this process
meet only through Redis (channels_redis), and a move made here reaches the old team's socket there."""

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone
from websockets.asyncio.client import ClientConnection, connect

from tests.channels_app.conftest import Frame, frame_where
from tests.factories import TicketFactory, UserFactory
from tickets.services.properties import ticket_assign

pytestmark = [pytest.mark.production_stack, pytest.mark.django_db(transaction=True)]

Socket = Callable[[Any], Awaitable[WebsocketCommunicator]]


@asynccontextmanager
async def server_socket(base_url: str, cookie: str) -> AsyncIterator[ClientConnection]:
    """A /ws/agent/ socket on the live server's process."""
    headers = {"Origin": base_url, "Cookie": f"sessionid={cookie}"}
    async with connect(base_url.replace("http", "ws") + "/ws/agent/", additional_headers=headers) as ws:
        yield ws


async def server_frame_where(ws: ClientConnection, wanted: Callable[[Frame], bool]) -> Frame:
    """The first frame from the server's socket that `wanted` accepts, within 5 s."""

    async def first() -> Frame:
        while True:
            frame: Frame = json.loads(await ws.recv())
            if wanted(frame):
                return frame

    return await asyncio.wait_for(first(), timeout=5)


def listing(*names: str) -> Callable[[Frame], bool]:
    return lambda frame: frame["type"] == "presence" and [v["name"] for v in frame["viewers"]] == list(names)


async def test_sockets_in_two_processes_see_each_other_and_each_others_typing(
    live_server_url: str, session_cookie: Callable[[Any], str], agent_socket: Socket, team_a: Any
) -> None:
    ticket = await sync_to_async(TicketFactory)(team=team_a)
    ann = await sync_to_async(UserFactory)(username="ann", first_name="Ann", teams=[team_a])
    bob = await sync_to_async(UserFactory)(username="bob", first_name="Bob", teams=[team_a])
    async with server_socket(live_server_url, await sync_to_async(session_cookie)(ann)) as ann_ws:
        await ann_ws.send(json.dumps({"type": "watch", "ticket": ticket.pk}))
        await server_frame_where(ann_ws, listing("Ann"))

        bob_ws = await agent_socket(bob)  # in this process
        await bob_ws.send_json_to({"type": "watch", "ticket": ticket.pk})
        await frame_where(bob_ws, listing("Ann", "Bob"), timeout=5)
        await server_frame_where(ann_ws, listing("Ann", "Bob"))

        await bob_ws.send_json_to({"type": "typing", "ticket": ticket.pk})
        typing = await server_frame_where(ann_ws, lambda frame: frame["type"] == "typing")
        assert typing["user"] == {"id": bob.pk, "name": "Bob"}

        await bob_ws.disconnect()
        await server_frame_where(ann_ws, listing("Ann"))


async def test_a_move_made_in_one_process_reaches_the_old_team_in_another(
    live_server_url: str, session_cookie: Callable[[Any], str], team_a: Any, team_b: Any
) -> None:
    ticket = await sync_to_async(TicketFactory)(team=team_a)
    ann = await sync_to_async(UserFactory)(username="ann", first_name="Ann", teams=[team_a])
    async with server_socket(live_server_url, await sync_to_async(session_cookie)(ann)) as ann_ws:
        await ann_ws.send(json.dumps({"type": "watch", "ticket": ticket.pk}))
        await server_frame_where(ann_ws, listing("Ann"))
        await sync_to_async(ticket_assign)(ticket=ticket, team=team_b, now=timezone.now())
        left = await server_frame_where(ann_ws, lambda frame: frame["type"] == "ticket.left")
        assert set(left) == {"type", "id", "ticket"} and left["ticket"] == {"id": ticket.pk}
        # The socket has left the ticket's presence: typing on it is refused.
        await ann_ws.send(json.dumps({"type": "typing", "ticket": ticket.pk}))
        refused = await server_frame_where(ann_ws, lambda frame: frame["type"] == "error")
        assert refused["error"] == "watch the ticket before typing on it"


async def test_a_socket_idle_for_longer_than_the_layers_blocking_receive_stays_open(
    live_server_url: str, session_cookie: Callable[[Any], str], team_a: Any
) -> None:
    # channels_redis waits for a socket's messages in blocking reads of `brpop_timeout` seconds; a Redis client
    # whose read timeout was no longer (redis-py 8's default) killed every socket idle that long, and with it
    # its user's presence. Time is the subject here: the test waits it out.
    from channels_redis.core import RedisChannelLayer

    ticket = await sync_to_async(TicketFactory)(team=team_a)
    ann = await sync_to_async(UserFactory)(username="ann", first_name="Ann", teams=[team_a])
    async with server_socket(live_server_url, await sync_to_async(session_cookie)(ann)) as ann_ws:
        await asyncio.sleep(RedisChannelLayer.brpop_timeout * 2 + 1)
        await ann_ws.send(json.dumps({"type": "watch", "ticket": ticket.pk}))
        await server_frame_where(ann_ws, listing("Ann"))
