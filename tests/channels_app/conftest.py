"""Agents' sockets run in-process (channels' WebsocketCommunicator), on this process's channel layer."""

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator

from helpdesk.asgi import application
from tests.factories import TicketFactory, UserFactory

Frame = dict[str, Any]


@pytest.fixture
async def agent_socket(session_cookie: Callable[[Any], str]) -> AsyncIterator[Callable[[Any], Awaitable[Any]]]:
    """A function: a connected /ws/agent/ socket signed in as `user` (closed at the end of the test)."""
    # A channel layer of this test's own. Each test runs on an event loop of its own, and channels_redis (the
    # production pass) keeps per-process locks that a task of an earlier test's loop, cut off when that loop
    # closed, may have left locked: the next test's sockets would fail on them.
    channel_layers.backends.pop(DEFAULT_CHANNEL_LAYER, None)
    opened: list[WebsocketCommunicator] = []

    async def open_for(user: Any) -> WebsocketCommunicator:
        cookie = await sync_to_async(session_cookie)(user)
        communicator = WebsocketCommunicator(
            application,
            "/ws/agent/",
            headers=[(b"cookie", f"sessionid={cookie}".encode()), (b"origin", b"http://127.0.0.1")],
        )
        connected, _ = await communicator.connect()
        assert connected
        opened.append(communicator)
        return communicator

    yield open_for
    for communicator in opened:
        await communicator.disconnect()


async def frame_where(
    communicator: WebsocketCommunicator, wanted: Callable[[Frame], bool], timeout: float = 3
) -> Frame:
    """The first frame to arrive that `wanted` accepts (those before it are dropped); fails after `timeout`."""
    while True:
        frame: Frame = await communicator.receive_json_from(timeout=timeout)
        if wanted(frame):
            return frame


async def drain(communicator: WebsocketCommunicator) -> list[Frame]:
    """Every frame waiting now, taken off the queue."""
    frames = []
    while not await communicator.receive_nothing(timeout=0.2):
        frames.append(await communicator.receive_json_from())
    return frames


@pytest.fixture
async def ticket(team_a: Any) -> Any:
    return await sync_to_async(TicketFactory)(team=team_a)


@pytest.fixture
async def ann(team_a: Any) -> Any:
    """In team A only."""
    return await sync_to_async(UserFactory)(username="ann", first_name="Ann", teams=[team_a])
