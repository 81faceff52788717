"""The agent UI's inbox: the tickets an agent may see, and the rows the live client fetches."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from policies.countdowns import countdowns_for
from tickets.selectors import inbox_tickets, latest_event_id
from tickets.views.notifications import header_context


@require_GET
@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    """Every ticket the agent may see, newest activity first, a page at a time."""
    # The newest event id is read before the rows: an event committed in between is then replayed, not lost.
    last_event_id = latest_event_id()
    page = Paginator(inbox_tickets(request.user), settings.HELPDESK_INBOX_PAGE_SIZE).get_page(request.GET.get("page"))
    countdowns = countdowns_for([ticket.pk for ticket in page], now=timezone.now())
    rows = [(ticket, countdowns.get(ticket.pk)) for ticket in page]
    context = {"page": page, "rows": rows, "last_event_id": last_event_id, **header_context(request)}
    return render(request, "tickets/inbox.html", context)


@require_GET
@login_required
def inbox_row(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """One inbox row, fetched by the live client when an event names the ticket."""
    ticket = get_object_or_404(inbox_tickets(request.user), pk=ticket_id)
    countdown = countdowns_for([ticket.pk], now=timezone.now()).get(ticket.pk)
    return render(request, "tickets/_inbox_row.html", {"ticket": ticket, "countdown": countdown})
