"""What the ticket page's side parts show: the properties panel, the note box and the contact panel.

Both the page (views.agent) and the actions that re-render one part (views.ticket_actions) build them here.
"""

from django import forms
from django.http import HttpRequest

from tickets.models import Priority, Status, Ticket
from tickets.selectors import contact_identities
from tickets.selectors.ticket_page import contact_other_tickets, tag_suggestions, ticket_assignees

# The contact's other tickets listed in the panel; the contact page lists them all.
OTHER_TICKETS = 10


class NoteForm(forms.Form):
    text = forms.CharField(
        label="Internal note",
        max_length=10_000,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3, "id": "note-text"}),
        error_messages={"required": "Write the note first."},
    )


def properties_context(
    request: HttpRequest,
    ticket: Ticket,
    *,
    errors: dict[str, str] | None = None,
    refusal: str = "",
    saved: str = "",
    typed_tag: str = "",
) -> dict[str, object]:
    """What the properties panel (tickets/_ticket_properties.html) shows; `ticket` with its tags prefetched.

    `errors` by form field, `refusal` (an edit refused), `saved` (what the last edit did) and `typed_tag` (the
    tag typed, shown again with its error) describe the edit just made, if any.
    """
    assignees = list(ticket_assignees(request.user, ticket))
    return {
        "ticket": ticket,
        "assignees": assignees,
        # The current assignee may no longer be assignable (they lost the team): still shown as chosen.
        "assignee_unlisted": ticket.assignee if ticket.assignee_id not in {None, *(a.pk for a in assignees)} else None,
        "statuses": Status.choices,
        "priorities": Priority.choices,
        "tag_suggestions": tag_suggestions(),
        "closed": ticket.status == Status.CLOSED,
        "property_errors": errors or {},
        "refusal": refusal,
        "saved": saved,
        "typed_tag": typed_tag,
    }


def note_context(ticket: Ticket, *, form: NoteForm | None = None, saved: bool = False) -> dict[str, object]:
    """What the note box (tickets/_note_form.html) shows."""
    return {"ticket": ticket, "note_form": form or NoteForm(), "note_saved": saved}


def contact_panel_context(request: HttpRequest, ticket: Ticket) -> dict[str, object]:
    """What the contact panel (tickets/_contact_panel.html) shows; the orders come in a request of their own."""
    others = contact_other_tickets(request.user, ticket, limit=OTHER_TICKETS)
    return {
        "contact_identities": contact_identities(request.user, ticket.contact),
        "other_tickets": others[:OTHER_TICKETS],
        "more_other_tickets": len(others) > OTHER_TICKETS,
        "orders_configured": bool(ticket.team.commerce_url),
    }
