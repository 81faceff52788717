"""The frames of one commit leave together, in order, and a frame from a rolled-back savepoint never leaves."""

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm

from channels_app import bus
from channels_app.groups import team_group, ticket_group
from tests.factories import TicketFactory, UserFactory
from tickets.models import EventKind
from tickets.services.audit import ticket_event_record

pytestmark = pytest.mark.django_db(transaction=True)


def received(layer: Any, channel: str) -> list[int]:
    """The event ids the layer holds for `channel`, in the order they arrive."""
    return [
        frame["id"] for message in messages(layer, channel) for frame in message.get("frames", [message.get("frame")])
    ]


def messages(layer: Any, channel: str) -> list[dict[str, Any]]:
    """The messages the layer holds for `channel`, in the order they arrive."""

    async def drain() -> list[dict[str, Any]]:
        import asyncio

        got = []
        while True:
            try:
                got.append(await asyncio.wait_for(layer.receive(channel), timeout=0.5))
            except TimeoutError:
                return got

    return async_to_sync(drain)()


def test_one_commit_sends_its_frames_in_one_hop_and_in_order(team_a: Any, monkeypatch: Any) -> None:
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(team_group(team_a.pk), channel)
    hops = []
    real = bus.publish_all
    monkeypatch.setattr(bus, "publish_all", lambda batch: (hops.append(len(batch)), real(batch)))
    ticket = TicketFactory(team=team_a)
    now = timezone.now()
    with transaction.atomic():
        first = ticket_event_record(ticket=ticket, kind=EventKind.NOTE, now=now)
        try:
            with transaction.atomic():
                ticket_event_record(ticket=ticket, kind=EventKind.NOTE, now=now)
                raise RuntimeError("roll the savepoint back")
        except RuntimeError:
            pass
        last = ticket_event_record(ticket=ticket, kind=EventKind.TAGS, now=now)
    assert hops == [2]
    # One message to the group, holding both frames in order (the consumer forwards each).
    [message] = messages(layer, channel)
    assert message["type"] == "ticket.events"
    assert [frame["id"] for frame in message["frames"]] == [first.pk, last.pk]


def test_a_rolled_back_transaction_sends_nothing(team_a: Any) -> None:
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(team_group(team_a.pk), channel)
    ticket = TicketFactory(team=team_a)
    with pytest.raises(RuntimeError), transaction.atomic():
        ticket_event_record(ticket=ticket, kind=EventKind.NOTE, now=timezone.now())
        raise RuntimeError("roll back")
    after = ticket_event_record(ticket=ticket, kind=EventKind.NOTE, now=timezone.now())  # autocommit: at once
    assert received(layer, channel) == [after.pk]


def test_frames_held_when_a_hook_failed_leave_before_the_next_commit_s(monkeypatch: Any) -> None:
    sent: list[list[str]] = []
    monkeypatch.setattr(bus, "publish_all", lambda batch: sent.append([message["n"] for _, message in batch]))

    def broker_down() -> None:
        raise RuntimeError("broker down")

    with pytest.raises(RuntimeError), transaction.atomic():
        transaction.on_commit(bus._Send((["g"], {"n": "first"})))
        transaction.on_commit(broker_down)
        transaction.on_commit(bus._Send((["g"], {"n": "lost with the failed run"})))
    with transaction.atomic():
        transaction.on_commit(bus._Send((["g"], {"n": "later"})))
    # The committed frame held by the failed run is sent on its own, never mixed into another commit's.
    assert sent == [["first"], ["later"]]


def test_a_listener_in_two_groups_receives_one_commits_frames_in_id_order(team_a: Any, team_b: Any) -> None:
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    for team in (team_a, team_b):
        async_to_sync(layer.group_add)(team_group(team.pk), channel)
    in_a, in_b = TicketFactory(team=team_a), TicketFactory(team=team_b)
    now = timezone.now()
    with transaction.atomic():
        ids = [
            ticket_event_record(ticket=ticket, kind=EventKind.NOTE, now=now).pk
            for ticket in (in_a, in_a, in_b, in_a, in_b, in_b)
        ]
    # Resuming after the highest id seen is only safe if no lower id can still be on its way.
    assert received(layer, channel) == ids


def test_a_tickets_group_is_sent_to_only_while_someone_holds_a_grant_on_that_ticket(team_a: Any) -> None:
    layer = get_channel_layer()
    listener = async_to_sync(layer.new_channel)()
    ticket = TicketFactory(team=team_a)
    async_to_sync(layer.group_add)(ticket_group(ticket.pk), listener)
    # Only a single-ticket grant makes a socket join this group: before one, nothing is sent to it.
    ticket_event_record(ticket=ticket, kind=EventKind.NOTE, now=timezone.now())
    assign_perm("view_ticket", UserFactory(username="contractor"), ticket)
    granted = ticket_event_record(ticket=ticket, kind=EventKind.NOTE, now=timezone.now())
    assert received(layer, listener) == [granted.pk]  # read once: channels_redis binds a receive to its loop
