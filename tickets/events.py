"""Domain events: how the core of `tickets` tells other apps that a ticket changed, without importing them.

Services record a TicketEvent and call `emit(event)` inside their transaction. Subscribers register in their
AppConfig.ready(): `policies` updates SLA clocks in the same transaction; `channels_app` publishes the event
to browsers with transaction.on_commit, so nobody ever sees a change that was rolled back.
"""

from collections.abc import Callable, Sequence

from tickets.models import Notification, TicketEvent

Subscriber = Callable[[TicketEvent], None]
NotificationSubscriber = Callable[[Sequence[Notification]], None]

_subscribers: list[Subscriber] = []
_notification_subscribers: list[NotificationSubscriber] = []


def subscribe(subscriber: Subscriber) -> None:
    """Call `subscriber(event)` for every ticket event from now on (once, however often registered)."""
    if subscriber not in _subscribers:
        _subscribers.append(subscriber)


def emit(event: TicketEvent) -> None:
    """Hand a freshly recorded ticket event to every subscriber, in the caller's transaction."""
    for subscriber in _subscribers:
        subscriber(event)


def subscribe_notifications(subscriber: NotificationSubscriber) -> None:
    """Call `subscriber(notifications)` for every batch of new notifications (channels_app sends them live)."""
    if subscriber not in _notification_subscribers:
        _notification_subscribers.append(subscriber)


def emit_notifications(notifications: Sequence[Notification]) -> None:
    """Hand freshly stored notifications to every subscriber, in the caller's transaction."""
    for subscriber in _notification_subscribers:
        subscriber(notifications)
