"""An agent's notifications: the unread count in the page header, the list, and marking them read.

Every query here starts from the signed-in user's own notifications about tickets they may still see
(tickets.selectors.user_notifications): an id that is not theirs is a 404, as if it did not exist.
"""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from tickets.selectors import unread_notification_counts, user_notifications
from tickets.services.notifications import notifications_mark_read

PAGE_SIZE = 50


def header_context(request: HttpRequest) -> dict[str, object]:
    """What the page header shows of the signed-in user's notifications: the unread count (one query)."""
    if not request.user.is_authenticated:
        return {}
    return {"unread_notifications": unread_notification_counts([request.user.pk]).get(request.user.pk, 0)}


@require_GET
@login_required
def notifications_list(request: HttpRequest) -> HttpResponse:
    """The user's notifications, newest first, a page at a time, with the ticket each is about."""
    page = Paginator(user_notifications(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "tickets/notifications.html", {"page": page, **header_context(request)})


@require_GET
@login_required
def notifications_badge(request: HttpRequest) -> HttpResponse:
    """The header's notifications link with the unread count: the live client re-reads it after a reconnect."""
    return render(request, "tickets/_notifications_link.html", header_context(request))


@require_POST
@login_required
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    """Mark every unread notification of the user read, then show the list again."""
    notifications_mark_read(user_id=request.user.pk or 0, now=timezone.now())
    return redirect("notifications")


@require_GET
@login_required
def notification_open(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Open a notification: it is read from now on, and the agent lands on its ticket."""
    notification = get_object_or_404(user_notifications(request.user), pk=notification_id)
    if notification.read_at is None:
        notifications_mark_read(user_id=request.user.pk or 0, now=timezone.now(), notification_id=notification.pk)
    return redirect("ticket-detail", number=notification.ticket.number)
