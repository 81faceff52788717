"""Telling agents about a ticket: a notification each (live in the agent UI) and an email where they have one."""

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from tickets import events
from tickets.models import Notification, Ticket
from tickets.selectors import users_seeing_ticket


def notifications_send(
    *, ticket: Ticket, user_ids: Iterable[int], text: str, now: datetime, data: dict[str, Any] | None = None
) -> tuple[list[Notification], list[int]]:
    """Notify those of `user_ids` who may see `ticket`: (the notifications stored, the user ids left out).

    Nobody is told about a ticket they may not see, whoever asked for it. The live frames and emails leave
    after the transaction commits.
    """
    notifications, left_out = notifications_for(ticket=ticket, user_ids=user_ids, text=text, now=now, data=data)
    return notifications_store(notifications), left_out


def notifications_for(
    *, ticket: Ticket, user_ids: Iterable[int], text: str, now: datetime, data: dict[str, Any] | None = None
) -> tuple[list[Notification], list[int]]:
    """The notifications (not stored yet, users loaded) for those of `user_ids` who may see `ticket`, by the
    ticket's team as it is in memory, and the user ids left out."""
    wanted = sorted(set(user_ids))
    allowed = list(users_seeing_ticket(ticket, wanted).order_by("pk"))
    notifications = [
        Notification(user=user, ticket=ticket, text=text[:500], created_at=now, data=data or {}) for user in allowed
    ]
    allowed_ids = {user.pk for user in allowed}
    return notifications, [user_id for user_id in wanted if user_id not in allowed_ids]


def notifications_store(notifications: Sequence[Notification]) -> list[Notification]:
    """Store notifications from `notifications_for` (of any tickets) in one insert; live and by email after commit."""
    if not notifications:
        return []
    stored = Notification.objects.bulk_create(notifications)
    events.emit_notifications(stored)
    emailed = [n.pk for n in stored if n.user.email]
    if emailed:
        from tickets.tasks import notification_email  # the task module is a face over notification_emails_send

        transaction.on_commit(lambda: notification_email.delay(emailed), robust=True)
    return stored


def notification_emails_send(*, notification_ids: Iterable[int]) -> int:
    """Email each notification to its user through Django's mail backend; how many were sent."""
    base_url = settings.HELPDESK_BASE_URL.rstrip("/")
    sent = 0
    for notification in Notification.objects.select_related("user", "ticket").filter(pk__in=list(notification_ids)):
        if not notification.user.email:
            continue
        ticket = notification.ticket
        link = f"{base_url}/tickets/{ticket.number}/"
        sent += send_mail(
            subject=notification.text[:150],
            message=f"{notification.text}\n\nTicket #{ticket.number}: {ticket.subject}\n{link}\n",
            from_email=None,
            recipient_list=[notification.user.email],
        )
    return sent


def notifications_mark_read(*, user_id: int, now: datetime, notification_id: int | None = None) -> int:
    """Mark `user_id`'s unread notifications read at `now` (only `notification_id`, if given); how many.

    Conditional on still being unread, so a second tab opening one keeps the first reading's time.
    """
    unread = Notification.objects.filter(user_id=user_id, read_at__isnull=True)
    if notification_id is not None:
        unread = unread.filter(pk=notification_id)
    return unread.update(read_at=now)
