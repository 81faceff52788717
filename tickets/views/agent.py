"""The agent UI's ticket page, and the partials of it the live client fetches."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from policies.countdowns import ticket_sla_panel
from policies.firings import ticket_escalations
from tickets.models import Ticket
from tickets.selectors import latest_event_id, ticket_thread, visible_tickets
from tickets.services.replies import (
    ReplyRefused,
    TemplateInvalid,
    message_reply,
    message_template_reply,
    reply_window,
    template_placeholders,
    templates_for,
)
from tickets.views.notifications import header_context
from tickets.views.ticket_parts import contact_panel_context, note_context, properties_context


class ReplyForm(forms.Form):
    text = forms.CharField(label="Reply", max_length=10_000, widget=forms.Textarea(attrs={"rows": 3}), strip=True)


def visible_ticket(request: HttpRequest, number: int, *, with_tags: bool = False) -> Ticket:
    """The ticket numbered `number` if the user may see it (else 404), with what its page shows joined in."""
    tickets = visible_tickets(request.user).select_related("team", "assignee", "contact", "identity__channel_account")
    if with_tags:
        tickets = tickets.prefetch_related("tags")
    return get_object_or_404(tickets, number=number)


def _live_context(ticket: Ticket) -> dict[str, object]:
    """What the live part of a ticket's page shows (tickets/_ticket_live.html)."""
    # Each message's channel account comes in the same query: its badge says which channel it came by.
    thread = ticket_thread(ticket).select_related("channel_account")
    return {"ticket": ticket, "thread": thread, "sla": ticket_sla_panel(ticket, now=timezone.now())}


def is_htmx(request: HttpRequest) -> bool:
    """Whether htmx sent the request (it wants a part of the page back, not a redirect)."""
    return request.headers.get("HX-Request") == "true"


@require_GET
@login_required
def ticket_detail(request: HttpRequest, number: int) -> HttpResponse:
    """A ticket's page: its facts and SLA, the thread, the reply and note boxes, its escalations, and beside them
    its properties and the contact panel."""
    last_event_id = latest_event_id()  # before the ticket, as in the inbox
    return ticket_page(request, visible_ticket(request, number, with_tags=True), last_event_id=last_event_id)


def ticket_page(
    request: HttpRequest,
    ticket: Ticket,
    *,
    status: int = 200,
    last_event_id: int | None = None,
    parts: dict[str, object] | None = None,
) -> HttpResponse:
    """The whole ticket page for `ticket` (its tags prefetched). `parts` replace the context of a part: a form
    sent back with its errors when an action fails without JavaScript (views.ticket_actions)."""
    context = {
        **_live_context(ticket),
        **_reply_context(ticket, form=ReplyForm()),
        **note_context(ticket),
        **properties_context(request, ticket),
        **contact_panel_context(request, ticket),
        "escalations": ticket_escalations(ticket),
        "last_event_id": latest_event_id() if last_event_id is None else last_event_id,
        **header_context(request),
        **(parts or {}),
    }
    return render(request, "tickets/ticket.html", context, status=status)


@require_GET
@login_required
def ticket_thread_partial(request: HttpRequest, number: int) -> HttpResponse:
    """The header, SLA panel and thread of a ticket, re-fetched by the live client after an event on it."""
    ticket = visible_ticket(request, number, with_tags=True)
    return render(request, "tickets/_ticket_live.html", _live_context(ticket))


@require_GET
@login_required
def ticket_escalations_partial(request: HttpRequest, number: int) -> HttpResponse:
    """A ticket's escalations section, re-fetched by the live client when a level fires on it."""
    ticket = visible_ticket(request, number)
    context = {"ticket": ticket, "escalations": ticket_escalations(ticket)}
    return render(request, "tickets/_ticket_escalations.html", context)


@require_POST
@login_required
def ticket_reply(request: HttpRequest, number: int) -> HttpResponse:
    """Store the agent's reply and queue it for delivery; htmx gets the new thread back."""
    ticket = visible_ticket(request, number)
    form = ReplyForm(request.POST)
    if form.is_valid():
        try:
            message_reply(ticket=ticket, author=request.user, text=form.cleaned_data["text"])  # type: ignore[arg-type]
        except ReplyRefused as exc:
            form.add_error("text", str(exc))
    if not form.is_valid():
        return render(request, "tickets/_reply_form.html", _reply_context(ticket, form=form), status=400)
    return _replied(request, ticket)


def _replied(request: HttpRequest, ticket: Ticket) -> HttpResponse:
    """After a reply is stored: the page again, or for htmx a fresh reply box and a nudge to the thread."""
    if not is_htmx(request):
        return redirect("ticket-detail", number=ticket.number)
    response = render(request, "tickets/_reply_form.html", _reply_context(ticket, form=ReplyForm()))
    # The thread refreshes itself from the live event; tell it now as well, for a socket that is down.
    response["HX-Trigger"] = "thread-changed"
    return response


def _reply_context(ticket: Ticket, *, form: ReplyForm, template_error: str = "") -> dict[str, object]:
    """What the reply box shows: the form, the platform's window and, when it is closed, the templates."""
    window = reply_window(ticket, now=timezone.now())
    templates = [] if window.open else [(t, template_placeholders_safe(t.body)) for t in templates_for(ticket)]
    return {
        "ticket": ticket,
        "form": form,
        "window": window,
        "templates": templates,
        "template_error": template_error,
    }


def template_placeholders_safe(body: str) -> range:
    """The numbers 1..n of a template's values, for its inputs (none when the body is malformed)."""
    try:
        return range(1, template_placeholders(body) + 1)
    except ValueError:
        return range(0)


@require_POST
@login_required
def ticket_template_reply(request: HttpRequest, number: int) -> HttpResponse:
    """Send an approved template with the agent's values (the way to write after the platform's window closes)."""
    ticket = visible_ticket(request, number)
    template_id = request.POST.get("template", "")
    values = _template_values(request, template_id)
    try:
        if not (template_id.isascii() and template_id.isdigit()):
            raise TemplateInvalid("choose a template")
        message_template_reply(ticket=ticket, author=request.user, template_id=int(template_id), parameters=values)  # type: ignore[arg-type]
    except TemplateInvalid as exc:
        context = _reply_context(ticket, form=ReplyForm(), template_error=str(exc))
        return render(request, "tickets/_reply_form.html", context, status=400)
    return _replied(request, ticket)


def _template_values(request: HttpRequest, template_id: str) -> list[str]:
    """The values the form carries for the chosen template (value_<template>_1, _2...); the service counts them."""
    values: list[str] = []
    while len(values) < 50 and (name := f"value_{template_id}_{len(values) + 1}") in request.POST:
        values.append(request.POST[name])
    return values
