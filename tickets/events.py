"""Domain events: how the core of `tickets` tells other apps that a ticket changed, without importing them.

Services record a TicketEvent and call `emit(event)` inside their transaction. Subscribers register in their
AppConfig.ready(): `policies` updates SLA clocks in the same transaction (a state subscriber); `channels_app`
publishes the event to browsers with transaction.on_commit, so nobody ever sees a change that was rolled back.

A recorder that has already made an event's changes to the state itself (the escalation tick, which moves
the clocks of many tickets in memory and writes them in bulk) emits with `state_done=True`: only the
subscribers registered with `state=False` (publishers) hear it.
"""

from collections.abc import Callable, Sequence

from tickets.models import Notification, TicketEvent

Subscriber = Callable[[TicketEvent], None]
NotificationSubscriber = Callable[[Sequence[Notification]], None]

_subscribers: list[tuple[Subscriber, bool]] = []
_notification_subscribers: list[NotificationSubscriber] = []


def subscribe(subscriber: Subscriber, *, state: bool = False) -> None:
    """Call `subscriber(event)` for every ticket event from now on (once, however often registered).

    `state`: the subscriber changes state that follows the ticket (the SLA clocks), which a recorder that
    made those changes itself skips; a subscriber that only tells others about the event leaves it False.
    """
    if all(known != subscriber for known, _state in _subscribers):
        _subscribers.append((subscriber, state))


def emit(event: TicketEvent, *, state_done: bool = False) -> None:
    """Hand a freshly recorded ticket event to every subscriber, in the caller's transaction; with `state_done`
    (the recorder has made the event's state changes itself), to those that only tell others."""
    for subscriber, state in _subscribers:
        if not (state and state_done):
            subscriber(event)


def subscribe_notifications(subscriber: NotificationSubscriber) -> None:
    """Call `subscriber(notifications)` for every batch of new notifications (channels_app sends them live)."""
    if subscriber not in _notification_subscribers:
        _notification_subscribers.append(subscriber)


def emit_notifications(notifications: Sequence[Notification]) -> None:
    """Hand freshly stored notifications to every subscriber, in the caller's transaction."""
    for subscriber in _notification_subscribers:
        subscriber(notifications)
