"""What an agent may send a contact, and sending it: the platforms' reply windows, free text, approved templates.

Messenger, Instagram and WhatsApp take free text only within 24 hours of the contact's last message. After
that WhatsApp takes only a template its reviewers approved (MessageTemplate), with the agent's values in its
{{1}}, {{2}}... placeholders.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.utils import timezone

from tickets.models import ChannelKind, Direction, Message, MessageTemplate, Ticket
from tickets.services.messages import reply_store

# Platforms that take free text only within this long after the contact's last message.
REPLY_WINDOW = timedelta(hours=24)
_WINDOW_RULES = {
    ChannelKind.MESSENGER: "Messenger accepts free text only within 24 hours of the customer's last message",
    ChannelKind.INSTAGRAM: "Instagram accepts free text only within 24 hours of the customer's last message",
    ChannelKind.WHATSAPP: "WhatsApp accepts free text only within 24 hours of the customer's last message",
}


@dataclass(frozen=True)
class ReplyWindow:
    """Whether free text may be sent to a ticket's contact now, until when, and if not, why not."""

    open: bool
    closes_at: datetime | None = None
    reason: str = ""


class ReplyRefused(ValueError):
    """A reply the platform would refuse (outside its reply window): nothing was stored."""


def reply_window(ticket: Ticket, *, now: datetime) -> ReplyWindow:
    """The platform's window for free-text replies on `ticket` (always open where the platform has none)."""
    account, identity = ticket.identity.channel_account, ticket.identity
    rule = _WINDOW_RULES.get(ChannelKind(account.kind))
    if account.kind == ChannelKind.SMS and identity.external_id.startswith("whatsapp:"):
        rule = _WINDOW_RULES[ChannelKind.WHATSAPP]  # Twilio's WhatsApp contacts: WhatsApp's rule
    if rule is None:
        return ReplyWindow(open=True)
    last = (
        Message.objects.filter(ticket__identity=identity, direction=Direction.IN)
        .order_by("-sent_at")
        .values_list("sent_at", flat=True)
        .first()
    )
    if last is not None and now < last + REPLY_WINDOW:
        return ReplyWindow(open=True, closes_at=last + REPLY_WINDOW)
    when = f"; their last was at {last:%Y-%m-%d %H:%M} UTC" if last else "; they have not written yet"
    return ReplyWindow(open=False, closes_at=last + REPLY_WINDOW if last else None, reason=rule + when + ".")


def message_reply(*, ticket: Ticket, author: User, text: str, now: datetime | None = None) -> Message:
    """Store an agent's reply and queue its delivery to the platform once the transaction commits.

    ReplyRefused (nothing stored) when the platform's reply window has closed: it would refuse the message.
    """
    now = now or timezone.now()
    text = text.strip()
    if not text:
        raise ValueError("a reply needs some text")
    window = reply_window(ticket, now=now)
    if not window.open:
        raise ReplyRefused(window.reason)
    return reply_store(ticket=ticket, author=author, text=text, now=now)


class TemplateInvalid(ValueError):
    """A template reply that cannot be sent as asked (wrong template, missing or bad values): nothing was stored."""


_PLACEHOLDER = re.compile(r"\{\{\s*(\d+)\s*\}\}")
# WhatsApp refuses a value with a newline or a tab, or with more than four spaces in a row, and caps its length;
# a NUL or a carriage return is no text at all (and PostgreSQL cannot store a NUL).
_BAD_VALUE = re.compile(r"[\n\r\t\x00]| {5,}")
MAX_VALUE_LENGTH = 1024


def template_placeholders(body: str) -> int:
    """How many values a template body takes: its highest {{n}}; ValueError unless they run 1..n."""
    numbers = {int(found) for found in _PLACEHOLDER.findall(body)}
    if numbers != set(range(1, len(numbers) + 1)):
        raise ValueError("the placeholders must be {{1}}, {{2}}... in order, with none skipped")
    return len(numbers)


def template_render(body: str, parameters: Sequence[str]) -> str:
    """The text the contact will read: `body` with each {{n}} replaced by the n-th value."""
    return _PLACEHOLDER.sub(lambda found: parameters[int(found.group(1)) - 1], body)


def templates_for(ticket: Ticket) -> QuerySet[MessageTemplate]:
    """The approved templates an agent may send on `ticket`: its channel account's active ones (WhatsApp's)."""
    account = ticket.identity.channel_account
    if account.kind != ChannelKind.WHATSAPP:
        return MessageTemplate.objects.none()
    return MessageTemplate.objects.filter(channel_account=account, active=True).order_by("name", "language")


def message_template_reply(
    *, ticket: Ticket, author: User, template_id: int, parameters: Sequence[str], now: datetime | None = None
) -> Message:
    """Send an approved template with the agent's values; allowed at any time, inside the window or not.

    TemplateInvalid (nothing stored) when the template is not one of the ticket's, or a value is missing or one
    the platform would refuse.
    """
    now = now or timezone.now()
    template = templates_for(ticket).filter(pk=template_id).first()
    if template is None:
        raise TemplateInvalid("that template is not one this ticket's channel account may send")
    try:
        wanted = template_placeholders(template.body)
    except ValueError as exc:
        raise TemplateInvalid(f"the template {template} cannot be filled in: {exc}") from None
    values = [value.strip() for value in parameters]
    if len(values) != wanted or not all(values):
        raise TemplateInvalid(f"the template {template} needs {wanted} value(s), each filled in")
    for number, value in enumerate(values, start=1):
        if _BAD_VALUE.search(value):
            raise TemplateInvalid(
                f"value {number} may not hold a line break, a tab, a control character "
                "or more than four spaces in a row"
            )
        if len(value) > MAX_VALUE_LENGTH:
            raise TemplateInvalid(f"value {number} is longer than {MAX_VALUE_LENGTH} characters")
    text = template_render(template.body, values)
    return reply_store(ticket=ticket, author=author, text=text, now=now, template=template, parameters=values)
