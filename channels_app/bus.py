"""Turning committed ticket events into websocket frames for the groups allowed to see them."""

import logging
import sys
import threading
from collections.abc import Sequence
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from channels_app.departures import departure_message
from channels_app.groups import team_group, ticket_group, ticket_group_ticket, user_group
from tickets.models import Notification, TicketEvent
from tickets.selectors import tickets_granted_singly, unread_notification_counts

logger = logging.getLogger(__name__)

# At most this many ticket events in one message to a group (a message stays a few hundred kilobytes).
FRAMES_PER_MESSAGE = 200


def event_frame(event: TicketEvent) -> dict[str, Any]:
    """The JSON frame a browser receives for `event`. Its id lets the browser drop repeats and resume."""
    ticket = event.ticket
    return {
        "type": "ticket.event",
        "id": event.pk,
        "kind": event.kind,
        "at": event.created_at.isoformat(),
        # Who made the change (None: the system or the contact): a reply's author ends their typing warning.
        "actor": event.actor_id,
        "ticket": {"id": ticket.pk, "number": ticket.number, "status": ticket.status, "team_id": ticket.team_id},
        "data": event.data,
    }


Outgoing = tuple[list[str], dict[str, Any]]  # (groups, message)

_committed = threading.local()


class _Send:
    """An on_commit callback holding one frame. The frames of one commit leave together, in one hop to the
    event loop, sent by the last of these callbacks to run.

    Each frame has a callback of its own, so a frame written inside a savepoint that was rolled back is
    dropped with its callback, as Django drops it; the last to run sees no other one still to come. A hop
    costs a new event loop (and, in a worker, a new Redis connection): one per commit instead of one per
    event is what keeps a tick that fires many levels fast.
    """

    def __init__(self, outgoing: Outgoing) -> None:
        self.outgoing = outgoing

    def __call__(self) -> None:
        run, still_to_run = _commit_run()
        held: tuple[int, list[Outgoing]] | None = getattr(_committed, "held", None)
        if held is not None and held[0] != run:
            # Left over from an earlier commit whose hooks stopped at an error: committed frames, send them.
            publish_all(held[1])
            held = None
        batch = held[1] if held else []
        batch.append(self.outgoing)
        if any(isinstance(callback, _Send) for callback in still_to_run):
            _committed.held = (run, batch)
            return
        _committed.held = None
        publish_all(batch)


def _commit_run() -> tuple[int, list[Any]]:
    """This commit's run of on_commit hooks: (an id for it, the callbacks Django has yet to run).

    Django (5.2) pops them one by one from a local list of BaseDatabaseWrapper.run_and_clear_commit_hooks;
    that list is read from the caller's frame. Anywhere else (a test running captured callbacks itself), or
    should Django change, there is nothing more to come: each frame is then sent at once, as correct, just
    slower. tests/channels_app/test_bus_batching.py pins that the batching happens.
    """
    frame = sys._getframe(2)  # this <- _Send.__call__ <- Django's commit hook loop
    if frame.f_code.co_name == "run_and_clear_commit_hooks":
        pending = frame.f_locals.get("current_run_on_commit")
        if isinstance(pending, list):
            return id(pending), [entry[1] for entry in pending]
    return 0, []


def ticket_event_publish_on_commit(event: TicketEvent) -> None:
    """Subscriber to tickets.events: publish `event` once (and only if) its transaction commits."""
    message = {"type": "ticket.event", "frame": event_frame(event)}
    groups = [team_group(event.ticket.team_id), ticket_group(event.ticket_id)]
    transaction.on_commit(_Send((groups, message)))
    # A move to another team: the old team hears that the ticket left, and no more.
    departure = departure_message(event)
    if departure is not None:
        transaction.on_commit(_Send(departure))


def notification_frame(notification: Notification, unread: int) -> dict[str, Any]:
    """The JSON frame an agent's browser receives for a notification to them, with their unread count."""
    ticket = notification.ticket
    return {
        "type": "notification",
        "id": notification.pk,
        "kind": notification.kind,
        "at": notification.created_at.isoformat(),
        "text": notification.text,
        "ticket": {"id": ticket.pk, "number": ticket.number, "subject": ticket.subject},
        "unread": unread,
    }


def notifications_publish_on_commit(notifications: Sequence[Notification]) -> None:
    """Subscriber to tickets.events: send each notification to its user's sockets once the transaction commits."""
    if not notifications:
        return
    notifications = list(notifications)

    def send() -> None:
        unread = unread_notification_counts(n.user_id for n in notifications)
        for notification in notifications:
            frame = notification_frame(notification, unread.get(notification.user_id, 0))
            publish([user_group(notification.user_id)], {"type": "notification.new", "frame": frame})

    transaction.on_commit(send)


def publish(groups: list[str], message: dict[str, Any]) -> None:
    """Send `message` to `groups`. A layer that is down loses live frames, not data: browsers resume by id."""
    publish_all([(groups, message)])


def _without_unheard_ticket_groups(batch: Sequence[Outgoing]) -> list[Outgoing]:
    """`batch` without the ticket groups of tickets nobody was granted one by one: only such grants make a
    socket join a ticket's group (live_subscription), and a send to an empty group still costs two Redis
    round trips (a tick touching 500 tickets would pay 1,000 for nothing). One query per commit."""
    asked = {ticket_id for groups, _message in batch for group in groups if (ticket_id := ticket_group_ticket(group))}
    if not asked:
        return list(batch)
    heard = tickets_granted_singly(asked)
    return [
        ([group for group in groups if ticket_group_ticket(group) in (None, *heard)], message)
        for groups, message in batch
    ]


def publish_all(batch: Sequence[Outgoing]) -> None:
    """Send each message to its groups, in order, in one hop to the event loop.

    A send costs a Redis round trip and a fraction of a millisecond of CPU, so consecutive ticket events of
    one commit bound for the same groups (one ticket's events) leave together as one "ticket.events" message
    per group: a tick that fires levels on 100 tickets makes 200 sends, not 600. Messages keep their order,
    so a socket in several groups still receives every frame in id order, as resuming by id needs.
    """
    layer = get_channel_layer()
    if layer is None or not batch:
        return
    batch = _without_unheard_ticket_groups(batch)
    outgoing: list[Outgoing] = []
    for groups, message in batch:
        last_groups, last = outgoing[-1] if outgoing else ([], {})
        bundling = message["type"] == "ticket.event" and last_groups == groups
        if bundling and last["type"] == "ticket.event":
            outgoing[-1] = (groups, {"type": "ticket.events", "frames": [last["frame"], message["frame"]]})
        elif bundling and last["type"] == "ticket.events" and len(last["frames"]) < FRAMES_PER_MESSAGE:
            last["frames"].append(message["frame"])
        else:
            outgoing.append((groups, message))

    async def send_all() -> None:
        for groups, message in outgoing:
            for group in groups:
                try:
                    await layer.group_send(group, message)
                except Exception:
                    # The write has committed; a browser catches up on a lost frame when it resumes.
                    logger.exception("could not publish %s to %s", message["type"], group)

    # One hop to the event loop for all of them: each async_to_sync call costs a thread switch.
    try:
        async_to_sync(send_all)()
    except RuntimeError:
        logger.exception("could not publish %d frames from inside a running event loop", len(batch))
