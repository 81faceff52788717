"""Reads of the ticket page: whom a ticket may be given to, the tags to choose from, the contact's other tickets."""

from django.contrib.auth.models import User as AuthUser
from django.db.models import QuerySet

from tickets.models import Tag, Ticket
from tickets.selectors import User, assignable_agents, contact_tickets, users_seeing_ticket

# The tag names offered as suggestions when tagging (any existing tag may still be typed).
TAG_SUGGESTIONS = 200


def ticket_assignees(user: User, ticket: Ticket) -> QuerySet[AuthUser]:
    """Whom `user` may give `ticket` to: the agents they may assign to, and themselves, who also see the ticket.

    Nobody is given a ticket they could not open: assignable_agents alone allows anyone sharing a team with
    `user`, which for a ticket `user` was granted singly is a different set of people.
    """
    candidates = set(assignable_agents(user).values_list("pk", flat=True))
    if isinstance(user, AuthUser):
        candidates.add(user.pk)
    return users_seeing_ticket(ticket, candidates).order_by("username")


def tag_suggestions() -> list[str]:
    """The names of existing tags, for the tag box's suggestions (at most TAG_SUGGESTIONS)."""
    return list(Tag.objects.order_by("name").values_list("name", flat=True)[:TAG_SUGGESTIONS])


def contact_other_tickets(user: User, ticket: Ticket, *, limit: int) -> list[Ticket]:
    """The contact's other tickets that `user` may see, newest activity first: at most `limit` + 1, so the caller
    can say that there are more."""
    return list(contact_tickets(user, ticket.contact).exclude(pk=ticket.pk)[: limit + 1])
