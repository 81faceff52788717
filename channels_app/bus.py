"""Turning committed ticket events into websocket frames for the groups allowed to see them."""

import logging
from collections.abc import Sequence
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from channels_app.groups import team_group, ticket_group, user_group
from tickets.models import Notification, TicketEvent
from tickets.selectors import unread_notification_counts

logger = logging.getLogger(__name__)


def event_frame(event: TicketEvent) -> dict[str, Any]:
    """The JSON frame a browser receives for `event`. Its id lets the browser drop repeats and resume."""
    ticket = event.ticket
    return {
        "type": "ticket.event",
        "id": event.pk,
        "kind": event.kind,
        "at": event.created_at.isoformat(),
        "ticket": {"id": ticket.pk, "number": ticket.number, "status": ticket.status, "team_id": ticket.team_id},
        "data": event.data,
    }


def ticket_event_publish_on_commit(event: TicketEvent) -> None:
    """Subscriber to tickets.events: publish `event` once (and only if) its transaction commits."""
    message = {"type": "ticket.event", "frame": event_frame(event)}
    groups = [team_group(event.ticket.team_id), ticket_group(event.ticket_id)]
    transaction.on_commit(lambda: publish(groups, message))


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
    layer = get_channel_layer()
    if layer is None:
        return

    async def send_all() -> None:
        for group in groups:
            try:
                await layer.group_send(group, message)
            except Exception:
                # The write has committed; a browser catches up on a lost frame when it resumes.
                logger.exception("could not publish %s to %s", message["type"], group)

    # One hop to the event loop for every group: each async_to_sync call costs a thread switch.
    try:
        async_to_sync(send_all)()
    except RuntimeError:
        logger.exception("could not publish %s from inside a running event loop", message["type"])
