"""The ticket page's actions: assign, status, priority, tags and internal notes; and the contact panel's orders.

Each action is a form that works with htmx and without JavaScript. With htmx, the changed part of the page comes
back (the properties panel, or a fresh note box) with `HX-Trigger: thread-changed`, so the header and thread
refresh at once; the live event the service records refreshes them for everyone else. Without JavaScript it is
a POST and a redirect to the ticket, or, when the action fails, the page again with the form's message.

A ticket the user may not see is a 404. An edit refused is a 403 and input that cannot be applied a 400, each
with its message (tickets.services.ticket_edits says which is which).
"""

from collections.abc import Callable
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from tickets.models import Priority, Status, Ticket
from tickets.services import commerce
from tickets.services.messages import message_note
from tickets.services.ticket_edits import (
    EditInvalid,
    EditRefused,
    ticket_edit_assignee,
    ticket_edit_priority,
    ticket_edit_status,
    ticket_edit_tag_add,
    ticket_edit_tag_remove,
)
from tickets.views.agent import is_htmx, ticket_page, visible_ticket
from tickets.views.notifications import header_context
from tickets.views.ticket_parts import NoteForm, note_context, properties_context

PROPERTIES = "tickets/_ticket_properties.html"


class AssignForm(forms.Form):
    assignee = forms.RegexField(
        regex=r"^(me|[0-9]{1,18})?$",
        required=False,
        error_messages={"invalid": "Choose an agent from the list."},
    )

    def clean_assignee(self) -> str:
        # An empty value means "nobody"; a form without the field at all means nothing, and is refused.
        if "assignee" not in self.data:
            raise ValidationError("Choose an agent, or nobody.")
        return str(self.cleaned_data["assignee"])

    def assignee_id(self, user: User) -> int | None:
        """The agent chosen: `user` for "me", None for nobody."""
        value = self.cleaned_data["assignee"]
        return user.pk if value == "me" else (int(value) if value else None)


class StatusForm(forms.Form):
    status = forms.ChoiceField(
        choices=Status.choices,
        error_messages={"required": "Choose a status.", "invalid_choice": "Choose a status from the list."},
    )


class PriorityForm(forms.Form):
    priority = forms.TypedChoiceField(
        choices=[(str(value), label) for value, label in Priority.choices],
        coerce=int,
        error_messages={"required": "Choose a priority.", "invalid_choice": "Choose a priority from the list."},
    )


class TagForm(forms.Form):
    # Checked by the service (tag_name_clean), which says what a tag may be.
    tag = forms.CharField(required=False, strip=True)


Edit = Callable[[Ticket, dict[str, Any]], bool]
Said = Callable[[Ticket, bool], str]


def _edit(request: HttpRequest, number: int, form: forms.Form, field: str, edit: Edit, said: Said) -> HttpResponse:
    """Run one edit of the ticket numbered `number` with `form`'s data, and answer as the module says."""
    ticket = visible_ticket(request, number)
    typed_tag = str(request.POST.get("tag", ""))[:100] if field == "tag" else ""
    try:
        if not form.is_valid():
            errors = form.errors.get(field) or form.non_field_errors()
            raise EditInvalid(field, str(next(iter(errors), "Check the form.")))
        changed = edit(ticket, form.cleaned_data)
    except EditInvalid as exc:
        return _properties_failed(request, number, status=400, errors={exc.field: str(exc)}, typed_tag=typed_tag)
    except EditRefused as exc:
        return _properties_failed(request, number, status=403, refusal=str(exc), typed_tag=typed_tag)
    fresh = visible_ticket(request, number, with_tags=True)
    message = said(fresh, changed)
    if not is_htmx(request):
        messages.success(request, message)
        return redirect("ticket-detail", number=number)
    response = render(request, PROPERTIES, {**properties_context(request, fresh, saved=message), "oob": True})
    # The header and thread refresh now; the live event does it for everyone (and here too, if the socket is up).
    response["HX-Trigger"] = "thread-changed"
    return response


def _properties_failed(request: HttpRequest, number: int, *, status: int, **failure: Any) -> HttpResponse:
    """The properties panel (htmx) or the whole page (no JavaScript) with what went wrong, as `status`."""
    ticket = visible_ticket(request, number, with_tags=True)
    context = properties_context(request, ticket, **failure)
    if is_htmx(request):
        return render(request, PROPERTIES, {**context, "oob": True}, status=status)
    return ticket_page(request, ticket, status=status, parts=context)


def _actor(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # login_required
    return request.user


@require_POST
@login_required
def ticket_assign(request: HttpRequest, number: int) -> HttpResponse:
    """Give the ticket to the agent posted as `assignee`: "me", an agent's id, or empty for nobody."""
    form, actor = AssignForm(request.POST), _actor(request)

    def edit(ticket: Ticket, data: dict[str, Any]) -> bool:
        return ticket_edit_assignee(ticket=ticket, assignee_id=form.assignee_id(actor), actor=actor, now=timezone.now())

    def said(ticket: Ticket, changed: bool) -> str:
        if ticket.assignee is None:
            text = "Unassigned"
        else:
            text = "Assigned to " + ("you" if ticket.assignee_id == actor.pk else ticket.assignee.get_username())
        return f"{text}." if changed else f"No change: {text[0].lower()}{text[1:]} already."

    return _edit(request, number, form, "assignee", edit, said)


@require_POST
@login_required
def ticket_status(request: HttpRequest, number: int) -> HttpResponse:
    """Move the ticket to the posted `status` (open, pending, solved, closed)."""
    actor = _actor(request)

    def edit(ticket: Ticket, data: dict[str, Any]) -> bool:
        return ticket_edit_status(ticket=ticket, status=Status(data["status"]), actor=actor, now=timezone.now())

    def said(ticket: Ticket, changed: bool) -> str:
        return f"Status: {ticket.get_status_display()}." if changed else "No change: that is its status already."

    return _edit(request, number, StatusForm(request.POST), "status", edit, said)


@require_POST
@login_required
def ticket_priority(request: HttpRequest, number: int) -> HttpResponse:
    """Set the ticket's priority to the posted `priority` (1 low ... 4 urgent)."""
    actor = _actor(request)

    def edit(ticket: Ticket, data: dict[str, Any]) -> bool:
        return ticket_edit_priority(ticket=ticket, priority=Priority(data["priority"]), actor=actor, now=timezone.now())

    def said(ticket: Ticket, changed: bool) -> str:
        return f"Priority: {ticket.get_priority_display()}." if changed else "No change: that is its priority already."

    return _edit(request, number, PriorityForm(request.POST), "priority", edit, said)


@require_POST
@login_required
def ticket_tag_add(request: HttpRequest, number: int) -> HttpResponse:
    """Tag the ticket with the posted `tag` (an existing tag's name; a new one for those who may add tags)."""
    actor = _actor(request)

    def edit(ticket: Ticket, data: dict[str, Any]) -> bool:
        return ticket_edit_tag_add(ticket=ticket, name=data["tag"], actor=actor, now=timezone.now())

    def said(ticket: Ticket, changed: bool) -> str:
        name = str(request.POST.get("tag", "")).strip().lower()
        return f"Tagged {name}." if changed else f"No change: it is tagged {name} already."

    return _edit(request, number, TagForm(request.POST), "tag", edit, said)


@require_POST
@login_required
def ticket_tag_remove(request: HttpRequest, number: int) -> HttpResponse:
    """Take the posted `tag` off the ticket."""
    actor = _actor(request)

    def edit(ticket: Ticket, data: dict[str, Any]) -> bool:
        return ticket_edit_tag_remove(ticket=ticket, name=data["tag"], actor=actor, now=timezone.now())

    def said(ticket: Ticket, changed: bool) -> str:
        name = str(request.POST.get("tag", "")).strip().lower()
        return f"Removed the tag {name}." if changed else f"No change: it is not tagged {name}."

    # The remove buttons' errors are shown with the tag box.
    return _edit(request, number, TagForm(request.POST), "tag", edit, said)


@require_GET
@login_required
def ticket_properties_partial(request: HttpRequest, number: int) -> HttpResponse:
    """The properties panel, re-fetched when the ticket changed live (someone else assigned or solved it)."""
    ticket = visible_ticket(request, number, with_tags=True)
    # No word on the last edit: what the agent's own edit said stays said, though its live event redraws the panel.
    return render(request, PROPERTIES, properties_context(request, ticket))


@require_POST
@login_required
def ticket_note(request: HttpRequest, number: int) -> HttpResponse:
    """Add the posted `text` to the ticket as an internal note: agents see it, the contact never does."""
    ticket = visible_ticket(request, number)
    form = NoteForm(request.POST)
    if form.is_valid():
        message_note(ticket=ticket, text=form.cleaned_data["text"], now=timezone.now(), author=_actor(request))
        if not is_htmx(request):
            messages.success(request, "Internal note added.")
            return redirect("ticket-detail", number=number)
        response = render(request, "tickets/_note_form.html", note_context(ticket, saved=True))
        response["HX-Trigger"] = "thread-changed"
        return response
    if is_htmx(request):
        return render(request, "tickets/_note_form.html", note_context(ticket, form=form), status=400)
    page_ticket = visible_ticket(request, number, with_tags=True)
    return ticket_page(request, page_ticket, status=400, parts=note_context(page_ticket, form=form))


@require_GET
@login_required
def ticket_orders(request: HttpRequest, number: int) -> HttpResponse:
    """The contact's order history from the team's commerce endpoint (the page asks for it once it has loaded)."""
    ticket = visible_ticket(request, number)
    context: dict[str, object] = {"ticket": ticket}
    timeout = float(getattr(settings, "HELPDESK_COMMERCE_TIMEOUT", commerce.TIMEOUT_SECONDS))
    try:
        context["history"] = commerce.ticket_orders(ticket, timeout=timeout)
    except commerce.CommerceNotConfigured:
        context["not_configured"] = True
    except commerce.CommerceFailed as exc:
        context["problem"] = str(exc)
    if is_htmx(request):
        return render(request, "tickets/_ticket_orders.html", context)
    return render(request, "tickets/ticket_orders.html", {**context, **header_context(request)})
