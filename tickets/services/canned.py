"""Canned responses (saved replies): filling in their variables on insert, and an agent's own responses.

A variable is a `{{ group.attribute }}` token from the fixed list VARIABLES, replaced by plain string
substitution. A body is text an agent or a team lead typed: it never goes through Django's template engine, so
"{% load %}" or "{{ settings.SECRET_KEY }}" stay exactly as typed. A token not on the list is left as typed and
reported, so that a typo ("{{ contact.frist_name }}") is seen before the reply is sent. The result is plain text
for the reply box; whatever shows it escapes it like any other text.
"""

import re
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import IntegrityError, transaction

from tickets.models import CannedResponse, Ticket

# When a contact's name is unknown: "Hi there,".
NO_NAME = "there"

# Each variable a body may hold, and what it becomes (the /canned/ page and the admin show this list).
VARIABLES: dict[str, str] = {
    "contact.first_name": "the first word of the contact's name, else of their profile name on the channel, "
    f"else “{NO_NAME}”",
    "contact.name": f"the contact's name, else their profile name on the channel, else “{NO_NAME}”",
    "agent.name": "the replying agent's full name, else their username",
    "agent.first_name": "the replying agent's first name, else their username",
    "ticket.number": "the ticket's number, without the #",
    "ticket.subject": "the ticket's subject (may be empty)",
    "team.name": "the name of the ticket's team",
}

# Any {{ ... }} token: a known one is filled in, any other is reported.
_TOKEN = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


@dataclass(frozen=True)
class Rendered:
    """A response's text with its variables filled in, and the tokens left as typed (unknown variables)."""

    text: str
    unknown: list[str]


class CannedRefused(ValueError):
    """A personal response that cannot be saved as asked (a name taken or not a slug, no body): nothing changed."""


def _first_word(text: str) -> str:
    words = text.split()
    return words[0] if words else ""


def canned_variables(*, ticket: Ticket, agent: User) -> dict[str, str]:
    """The value of each variable of VARIABLES for `agent` replying on `ticket` (its contact, identity, team)."""
    contact_name = ticket.contact.display_name.strip() or ticket.identity.display_name.strip()
    return {
        "contact.first_name": _first_word(contact_name) or NO_NAME,
        "contact.name": contact_name or NO_NAME,
        "agent.name": agent.get_full_name() or agent.get_username(),
        "agent.first_name": agent.first_name.strip() or agent.get_username(),
        "ticket.number": str(ticket.number),
        "ticket.subject": ticket.subject,
        "team.name": ticket.team.name,
    }


def _fill(body: str, values: dict[str, str]) -> Rendered:
    unknown: list[str] = []

    def replace(token: re.Match[str]) -> str:
        name = token.group(1).lower()
        if name in values:
            return values[name]
        if token.group(0) not in unknown:
            unknown.append(token.group(0))
        return token.group(0)

    return Rendered(text=_TOKEN.sub(replace, body), unknown=unknown)


def canned_render(*, response: CannedResponse, ticket: Ticket, agent: User) -> Rendered:
    """`response`'s body as `agent` inserts it on `ticket`: known variables filled in, unknown ones reported."""
    return _fill(response.body, canned_variables(ticket=ticket, agent=agent))


def canned_unknown_variables(body: str) -> list[str]:
    """The tokens of `body` that are not variables of VARIABLES, as typed (shown when a response is saved)."""
    return _fill(body, dict.fromkeys(VARIABLES, "")).unknown


def _checked(*, name: str, body: str) -> tuple[str, str]:
    name, body = name.strip(), body.strip()
    try:
        validate_slug(name)
    except ValidationError:
        raise CannedRefused("A name is letters, numbers, hyphens or underscores, without spaces.") from None
    if not body:
        raise CannedRefused("A saved reply needs some text.")
    return name, body


def _save(response: CannedResponse) -> CannedResponse:
    try:
        # A savepoint: a name taken meanwhile by another request is refused like one taken before.
        with transaction.atomic():
            response.save()
    except IntegrityError:
        raise CannedRefused(f"You already have a saved reply named /{response.name}.") from None
    return response


def canned_create(*, owner: User, name: str, title: str, body: str) -> CannedResponse:
    """Save a new personal response of `owner`; CannedRefused when the name is taken or the text empty."""
    name, body = _checked(name=name, body=body)
    if CannedResponse.objects.filter(owner=owner, name=name).exists():
        raise CannedRefused(f"You already have a saved reply named /{name}.")
    return _save(CannedResponse(owner=owner, name=name, title=title.strip(), body=body))


def canned_update(*, response: CannedResponse, name: str, title: str, body: str) -> CannedResponse:
    """Change a personal response (the caller found it among its owner's); CannedRefused as canned_create."""
    assert response.owner_id is not None, "team responses are changed in the admin"
    name, body = _checked(name=name, body=body)
    if CannedResponse.objects.filter(owner_id=response.owner_id, name=name).exclude(pk=response.pk).exists():
        raise CannedRefused(f"You already have a saved reply named /{name}.")
    response.name, response.title, response.body = name, title.strip(), body
    return _save(response)


def canned_delete(*, response: CannedResponse) -> None:
    """Delete a personal response (the caller found it among its owner's)."""
    assert response.owner_id is not None, "team responses are deleted in the admin"
    response.delete()
