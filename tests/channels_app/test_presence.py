"""Presence and typing on the agents' websocket: who has a ticket open, who is typing, and only for those
who may see the ticket. The sockets run in-process on this process's channel layer; time is passed in."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from channels_app import watching
from channels_app.presence import EXPIRY_SECONDS, presence_group
from tests.channels_app.conftest import Frame, drain, frame_where
from tests.factories import TicketFactory, UserFactory
from tickets.models import EventKind
from tickets.services.audit import ticket_event_record

pytestmark = pytest.mark.django_db(transaction=True)

Socket = Callable[[Any], Awaitable[WebsocketCommunicator]]


@pytest.fixture
async def bob(team_a: Any) -> Any:
    return await sync_to_async(UserFactory)(username="bob", first_name="Bob", teams=[team_a])


@pytest.fixture
async def outsider(team_b: Any) -> Any:
    return await sync_to_async(UserFactory)(username="olga", first_name="Olga", teams=[team_b])


def names(frame: Frame) -> list[str]:
    return [viewer["name"] for viewer in frame["viewers"]]


async def watching_as(socket: Socket, user: Any, ticket: Any) -> WebsocketCommunicator:
    """A socket of `user` watching `ticket`, past the first presence frame it gets."""
    communicator = await socket(user)
    await communicator.send_json_to({"type": "watch", "ticket": ticket.pk})
    await frame_where(communicator, lambda frame: frame["type"] == "presence")
    return communicator


async def sees(communicator: WebsocketCommunicator, viewers: list[str]) -> Frame:
    """The presence frame listing exactly `viewers` (by name), once it comes."""
    return await frame_where(communicator, lambda frame: frame["type"] == "presence" and names(frame) == viewers)


async def test_agents_watching_a_ticket_see_each_other_come_and_go(
    agent_socket: Socket, ticket: Any, ann: Any, bob: Any
) -> None:
    ann_ws = await agent_socket(ann)
    await ann_ws.send_json_to({"type": "watch", "ticket": ticket.pk})
    assert await ann_ws.receive_json_from() == {
        "type": "presence",
        "ticket": ticket.pk,
        "viewers": [{"id": ann.pk, "name": "Ann"}],
        "you": ann.pk,  # the page leaves its own user out of "Also viewing"
    }

    bob_ws = await agent_socket(bob)
    await bob_ws.send_json_to({"type": "watch", "ticket": ticket.pk})
    assert (await sees(bob_ws, ["Ann", "Bob"]))["you"] == bob.pk  # Bob learns who was already here
    await sees(ann_ws, ["Ann", "Bob"])

    await bob_ws.send_json_to({"type": "unwatch"})
    await sees(ann_ws, ["Ann"])

    await bob_ws.send_json_to({"type": "watch", "ticket": ticket.pk})
    await sees(ann_ws, ["Ann", "Bob"])
    await bob_ws.disconnect()  # the tab is closed
    await sees(ann_ws, ["Ann"])


async def test_watching_another_ticket_leaves_the_first(agent_socket: Socket, ticket: Any, ann: Any, bob: Any) -> None:
    other = await sync_to_async(TicketFactory)(team=ticket.team)
    ann_ws = await watching_as(agent_socket, ann, ticket)
    bob_ws = await watching_as(agent_socket, bob, ticket)
    await sees(ann_ws, ["Ann", "Bob"])
    await bob_ws.send_json_to({"type": "watch", "ticket": other.pk})
    await sees(ann_ws, ["Ann"])
    assert (await sees(bob_ws, ["Bob"]))["ticket"] == other.pk


async def test_a_user_with_two_tabs_is_listed_once_until_both_close(
    agent_socket: Socket, ticket: Any, ann: Any, bob: Any
) -> None:
    ann_ws = await watching_as(agent_socket, ann, ticket)
    bob_tab_1 = await watching_as(agent_socket, bob, ticket)
    await sees(ann_ws, ["Ann", "Bob"])
    bob_tab_2 = await watching_as(agent_socket, bob, ticket)
    await bob_tab_1.disconnect()
    await bob_tab_2.send_json_to({"type": "typing", "ticket": ticket.pk})
    before_typing = []
    while (frame := await ann_ws.receive_json_from(timeout=3))["type"] != "typing":
        before_typing.append(frame)
    # Bob's second tab kept him listed: no frame dropped him, nor listed him twice.
    assert before_typing == []
    await bob_tab_2.disconnect()
    await sees(ann_ws, ["Ann"])


async def test_an_outsider_may_not_watch_and_hears_nothing_about_the_ticket(
    agent_socket: Socket, ticket: Any, ann: Any, outsider: Any
) -> None:
    outsider_ws = await agent_socket(outsider)
    await outsider_ws.send_json_to({"type": "watch", "ticket": ticket.pk})
    assert await outsider_ws.receive_json_from() == {"type": "error", "error": "no such ticket", "ticket": ticket.pk}
    # The same answer as for a ticket that does not exist.
    await outsider_ws.send_json_to({"type": "watch", "ticket": 999_999})
    assert await outsider_ws.receive_json_from() == {"type": "error", "error": "no such ticket", "ticket": 999_999}
    await outsider_ws.send_json_to({"type": "typing", "ticket": ticket.pk})
    assert (await outsider_ws.receive_json_from())["error"] == "watch the ticket before typing on it"

    ann_ws = await watching_as(agent_socket, ann, ticket)
    await ann_ws.send_json_to({"type": "typing", "ticket": ticket.pk})
    assert await outsider_ws.receive_nothing(timeout=0.5)
    assert all(names(frame) == ["Ann"] for frame in await drain(ann_ws) if frame["type"] == "presence")


async def test_typing_reaches_the_others_but_never_the_typist(
    agent_socket: Socket, ticket: Any, ann: Any, bob: Any
) -> None:
    ann_ws = await watching_as(agent_socket, ann, ticket)
    ann_other_tab = await watching_as(agent_socket, ann, ticket)
    bob_ws = await watching_as(agent_socket, bob, ticket)
    for communicator in (ann_ws, ann_other_tab, bob_ws):
        await drain(communicator)

    await ann_ws.send_json_to({"type": "typing", "ticket": ticket.pk})
    # A socket typing faster than the browser ever sends is heard twice a second at most: this one is dropped.
    await ann_ws.send_json_to({"type": "typing", "ticket": ticket.pk})
    assert await bob_ws.receive_json_from() == {
        "type": "typing",
        "ticket": ticket.pk,
        "user": {"id": ann.pk, "name": "Ann"},
    }
    assert await bob_ws.receive_nothing(timeout=0.3)
    assert await ann_ws.receive_nothing(timeout=0.3)
    assert await ann_other_tab.receive_nothing(timeout=0.3)


async def test_a_replys_frame_names_its_author_and_their_next_keystroke_is_news_at_once(
    agent_socket: Socket, ticket: Any, ann: Any, bob: Any
) -> None:
    ann_ws = await watching_as(agent_socket, ann, ticket)
    bob_ws = await watching_as(agent_socket, bob, ticket)
    await drain(bob_ws)
    await ann_ws.send_json_to({"type": "typing", "ticket": ticket.pk})
    await frame_where(bob_ws, lambda frame: frame["type"] == "typing")

    # Ann's reply: Bob's page ends her warning (the frame names her), and when she types again at once, the
    # socket does not hold it back as too soon after the last.
    await sync_to_async(ticket_event_record)(ticket=ticket, kind=EventKind.MESSAGE_OUT, now=timezone.now(), actor=ann)
    frame = await frame_where(bob_ws, lambda frame: frame["type"] == "ticket.event")
    assert (frame["kind"], frame["actor"]) == ("message_out", ann.pk)
    await frame_where(ann_ws, lambda frame: frame["type"] == "ticket.event")
    await ann_ws.send_json_to({"type": "typing", "ticket": ticket.pk})
    assert (await bob_ws.receive_json_from())["type"] == "typing"


async def test_a_revoked_grant_drops_the_user_from_presence_and_tells_their_page(
    agent_socket: Socket, ticket: Any, ann: Any, outsider: Any
) -> None:
    await sync_to_async(assign_perm)("view_ticket", outsider, ticket)
    ann_ws = await watching_as(agent_socket, ann, ticket)
    olga_ws = await watching_as(agent_socket, outsider, ticket)
    await sees(ann_ws, ["Ann", "Olga"])

    await sync_to_async(remove_perm)("view_ticket", outsider, ticket)
    await frame_where(olga_ws, lambda frame: frame == {"type": "ticket.left", "ticket": {"id": ticket.pk}})
    await sees(ann_ws, ["Ann"])
    await olga_ws.send_json_to({"type": "typing", "ticket": ticket.pk})
    assert (await olga_ws.receive_json_from())["error"] == "watch the ticket before typing on it"


async def receive(channel: str) -> dict[str, Any]:
    """The next message the channel layer holds for `channel` (fails after 3 s)."""
    return dict(await asyncio.wait_for(get_channel_layer().receive(channel), timeout=3))


async def _ghost_joins(ticket: Any, user: Any, at: float) -> tuple[str, str]:
    """A socket that says it watches `ticket` and then never beats (its process crashed); (its channel, the
    channel of the watching socket that answered it)."""
    layer = get_channel_layer()
    ghost = await layer.new_channel()
    join = {
        "type": "presence.join",
        "ticket": ticket.pk,
        "channel": ghost,
        "user": {"id": user.pk, "name": user.get_full_name()},
        "at": at,
    }
    await layer.group_send(presence_group(ticket.pk), join)
    answer = await receive(ghost)
    assert answer["type"] == "presence.here"
    return ghost, answer["channel"]


async def tick(channel: str, ticket: Any, now: float) -> None:
    """What a socket's heartbeat timer sends it, at the time given."""
    await get_channel_layer().send(channel, {"type": "presence.tick", "ticket": ticket.pk, "now": now})


async def test_a_socket_that_stops_beating_expires(agent_socket: Socket, ticket: Any, ann: Any, bob: Any) -> None:
    ann_ws = await watching_as(agent_socket, ann, ticket)
    start = time.time()
    _ghost, ann_channel = await _ghost_joins(ticket, bob, at=start)
    await sees(ann_ws, ["Ann", "Bob"])

    await tick(ann_channel, ticket, start + EXPIRY_SECONDS - 1)
    assert await ann_ws.receive_nothing(timeout=0.3)
    await tick(ann_channel, ticket, start + EXPIRY_SECONDS + 1)
    await sees(ann_ws, ["Ann"])


async def test_a_beating_socket_stays_and_the_tick_makes_each_socket_beat(
    agent_socket: Socket, ticket: Any, ann: Any, bob: Any
) -> None:
    layer = get_channel_layer()
    ann_ws = await watching_as(agent_socket, ann, ticket)
    start = time.time()
    ghost, ann_channel = await _ghost_joins(ticket, bob, at=start)
    await sees(ann_ws, ["Ann", "Bob"])
    beat = {"type": "presence.beat", "ticket": ticket.pk, "channel": ghost, "user": {"id": bob.pk, "name": "Bob"}}
    await layer.group_send(presence_group(ticket.pk), {**beat, "at": start + 25})

    await tick(ann_channel, ticket, start + EXPIRY_SECONDS + 1)
    assert await ann_ws.receive_nothing(timeout=0.3)
    await tick(ann_channel, ticket, start + 25 + EXPIRY_SECONDS + 1)
    await sees(ann_ws, ["Ann"])

    # Each tick beat for Ann, at the tick's time, to everyone watching (the ghost hears the group too).
    await layer.group_add(presence_group(ticket.pk), ghost)
    await tick(ann_channel, ticket, start + 100)
    heard = await receive(ghost)
    while heard["type"] != "presence.beat" or heard["channel"] != ann_channel:
        heard = await receive(ghost)
    assert (heard["user"], heard["at"]) == ({"id": ann.pk, "name": "Ann"}, start + 100)


async def test_the_heartbeat_timer_ticks_while_watching(
    agent_socket: Socket, ticket: Any, ann: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watching, "HEARTBEAT_SECONDS", 0.05)
    layer = get_channel_layer()
    listener = await layer.new_channel()
    await layer.group_add(presence_group(ticket.pk), listener)
    await watching_as(agent_socket, ann, ticket)
    kinds = [(await receive(listener))["type"] for _ in range(3)]
    assert kinds == ["presence.join", "presence.beat", "presence.beat"]


async def test_a_socket_claiming_a_user_who_may_not_see_the_ticket_is_never_listed(
    agent_socket: Socket, ticket: Any, ann: Any, bob: Any, outsider: Any
) -> None:
    ann_ws = await watching_as(agent_socket, ann, ticket)
    await _ghost_joins(ticket, outsider, at=time.time())
    assert await ann_ws.receive_nothing(timeout=0.5)
    await _ghost_joins(ticket, bob, at=time.time())
    assert names(await ann_ws.receive_json_from()) == ["Ann", "Bob"]


async def test_bad_watch_and_typing_messages_get_an_error_frame(agent_socket: Socket, ann: Any) -> None:
    ann_ws = await agent_socket(ann)
    await ann_ws.send_json_to({"type": "watch", "ticket": "12"})
    assert await ann_ws.receive_json_from() == {"type": "error", "error": "'ticket' must be a ticket id"}
    await ann_ws.send_json_to({"type": "dance"})
    assert (await ann_ws.receive_json_from())["type"] == "error"
    await ann_ws.send_json_to({"type": "unwatch"})  # watching nothing: nothing to say
    assert await ann_ws.receive_nothing(timeout=0.2)
