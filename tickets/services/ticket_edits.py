"""An agent's edits of a ticket from its page: assignee, status, priority, tags. Each is checked, then written by
the property services (tickets.services.properties, ticket_status_set) in one transaction with its event.

Who may edit: whoever may see the ticket (the caller finds it in visible_tickets, else 404). Agents hold no model
permissions: Django's `change_ticket` is the admin's permission for team leads, not a rule of the agent UI.
Two things are refused all the same (EditRefused, a 403):
- any edit of a closed ticket: closed is final (a contact's next message opens a new ticket, never reopens it,
  and reopening it could clash with the identity's newer ticket);
- a tag that does not exist yet, unless the agent may add tags (`tickets.add_tag`, as in the admin): tags are
  the words SLA and escalation policies match on, which team leads keep.
Input that cannot be applied (an agent who may not be given the ticket, a malformed tag) is EditInvalid, a 400.
"""

from datetime import datetime

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import validate_unicode_slug
from django.db import transaction

from tickets.models import Priority, Status, Tag, Ticket
from tickets.selectors.ticket_page import ticket_assignees
from tickets.services.properties import (
    ticket_assign,
    ticket_priority_set,
    ticket_tags_add,
    ticket_tags_remove,
    ticket_unassign,
)
from tickets.services.tickets import ticket_status_set

TAG_MAX_LENGTH = Tag._meta.get_field("name").max_length or 50
CLOSED_IS_FINAL = (
    "This ticket is closed, and a closed ticket is kept as it was: the customer's next message opens a new one."
)


class EditRefused(Exception):
    """The agent sees the ticket but may not make this edit (a 403); the message says why."""


class EditInvalid(ValueError):
    """The edit asked for cannot be applied (a 400); `field` names the form field the message is about."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _locked(ticket: Ticket) -> None:
    """Lock `ticket`'s row and read its editable fields again, so a concurrent edit is never undone unseen; then
    refuse the edit if the ticket is closed."""
    status, priority, assignee_id, team_id = (
        Ticket.objects.select_for_update()
        .filter(pk=ticket.pk)
        .values_list("status", "priority", "assignee_id", "team_id")
        .get()
    )
    ticket.status, ticket.priority, ticket.assignee_id, ticket.team_id = status, priority, assignee_id, team_id
    if ticket.status == Status.CLOSED:
        raise EditRefused(CLOSED_IS_FINAL)


def ticket_edit_assignee(*, ticket: Ticket, assignee_id: int | None, actor: User, now: datetime) -> bool:
    """Give `ticket` to the agent `assignee_id` (None: to nobody) as `actor`; False when nothing changed.

    EditInvalid unless the agent is one `actor` may give this ticket to (selectors.ticket_page.ticket_assignees).
    """
    with transaction.atomic():
        _locked(ticket)
        if assignee_id is None:
            return ticket_unassign(ticket=ticket, now=now, actor=actor)
        if assignee_id == ticket.assignee_id:
            return False
        assignee = ticket_assignees(actor, ticket).filter(pk=assignee_id).first()
        if assignee is None:
            raise EditInvalid("assignee", "Choose an agent from the list: that one may not be given this ticket.")
        return ticket_assign(ticket=ticket, assignee=assignee, now=now, actor=actor)


def ticket_edit_status(*, ticket: Ticket, status: Status, actor: User, now: datetime) -> bool:
    """Move `ticket` to `status` as `actor`; False when it had it already."""
    with transaction.atomic():
        _locked(ticket)
        if ticket.status == status:
            return False
        ticket_status_set(ticket=ticket, status=status, now=now, actor=actor)
        return True


def ticket_edit_priority(*, ticket: Ticket, priority: Priority, actor: User, now: datetime) -> bool:
    """Set `ticket`'s priority as `actor`; False when it had it already."""
    with transaction.atomic():
        _locked(ticket)
        return ticket_priority_set(ticket=ticket, priority=priority, now=now, actor=actor)


def tag_name_clean(name: str) -> str:
    """The tag name an agent typed, as tags are stored (lower case); EditInvalid when it cannot be one."""
    name = name.strip().lower()
    if not name:
        raise EditInvalid("tag", "Type a tag.")
    if len(name) > TAG_MAX_LENGTH:
        raise EditInvalid("tag", f"A tag has at most {TAG_MAX_LENGTH} characters.")
    try:
        validate_unicode_slug(name)
    except ValidationError as exc:
        raise EditInvalid("tag", "A tag is one word: letters, digits, hyphens and underscores, no spaces.") from exc
    return name


def ticket_edit_tag_add(*, ticket: Ticket, name: str, actor: User, now: datetime) -> bool:
    """Tag `ticket` with the tag called `name` as `actor`; False when it had it already.

    A new tag is made only for an agent who may add tags; for others it is refused (EditRefused).
    """
    name = tag_name_clean(name)
    with transaction.atomic():
        _locked(ticket)
        # Tags made in the admin may have capitals: typed in lower case, they are still found.
        tag = Tag.objects.filter(name__iexact=name).order_by("name").first()
        if tag is None:
            if not actor.has_perm("tickets.add_tag"):
                raise EditRefused(
                    f"There is no tag “{name}”, and new tags are made by team leads: choose one that exists."
                )
            tag, _created = Tag.objects.get_or_create(name=name)
        return bool(ticket_tags_add(ticket=ticket, tags=[tag], now=now, actor=actor))


def ticket_edit_tag_remove(*, ticket: Ticket, name: str, actor: User, now: datetime) -> bool:
    """Take the tag called `name` off `ticket` as `actor`; False when it did not have it (removed already)."""
    name = tag_name_clean(name)
    with transaction.atomic():
        _locked(ticket)
        tags = Tag.objects.filter(name__iexact=name)
        return bool(ticket_tags_remove(ticket=ticket, tags=tags, now=now, actor=actor))
