"""Tickets: numbering, finding the ticket a contact's message belongs to, and reopening."""

from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from tickets.models import ChannelAccount, Counter, EventKind, Status, Tag, Ticket
from tickets.models.tickets import ACTIVE_STATUSES
from tickets.services.audit import ticket_event_record
from tickets.services.contacts import identity_for_sender

_TICKET_COUNTER = "ticket"


def ticket_number_next() -> int:
    """The next human ticket number. The counter row stays locked until the caller's transaction ends."""
    if not Counter.objects.filter(name=_TICKET_COUNTER).update(value=F("value") + 1):
        try:
            with transaction.atomic():
                Counter.objects.create(name=_TICKET_COUNTER, value=1)
        except IntegrityError:
            # Another transaction created it first; take a number the ordinary way.
            Counter.objects.filter(name=_TICKET_COUNTER).update(value=F("value") + 1)
    return Counter.objects.values_list("value", flat=True).get(name=_TICKET_COUNTER)


def active_ticket(account: ChannelAccount, sender_id: str) -> Ticket | None:
    """The sender's open, pending or solved ticket on `account`, locked (call it in a transaction)."""
    # One query finds the sender's identity and active ticket together; only the ticket row is locked.
    return (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("identity")
        .filter(identity__channel_account=account, identity__external_id=sender_id, status__in=ACTIVE_STATUSES)
        .first()
    )


def ticket_for_inbound(
    *, account: ChannelAccount, sender_id: str, sender_name: str, subject: str, now: datetime
) -> tuple[Ticket, bool]:
    """The sender's open, pending or solved ticket (pending or solved reopen), or a new one: (ticket, created)."""
    ticket = active_ticket(account, sender_id)
    if ticket is None:
        identity = identity_for_sender(account=account, sender_id=sender_id, sender_name=sender_name)
        try:
            with transaction.atomic():
                ticket = Ticket.objects.create(
                    number=ticket_number_next(),
                    subject=subject[:200],
                    team_id=account.team_id,
                    contact_id=identity.contact_id,
                    identity=identity,
                    created_at=now,
                    last_activity_at=now,
                )
        except IntegrityError:
            # A concurrent message from the same identity opened a ticket first: join it.
            ticket = active_ticket(account, sender_id)
            if ticket is None:
                raise
        else:
            ticket_event_record(ticket=ticket, kind=EventKind.CREATED, now=now, data={"subject": ticket.subject})
            return ticket, True
    if sender_name and ticket.identity.display_name != sender_name:
        # The platform's profile name is the person's current one.
        ticket.identity.display_name = sender_name
        ticket.identity.save(update_fields=["display_name"])
    # The customer answered: a ticket waiting on them (pending) or solved is open again.
    if ticket.status in (Status.PENDING, Status.SOLVED):
        ticket_status_set(ticket=ticket, status=Status.OPEN, now=now, reason="the customer wrote again")
    return ticket, False


def ticket_status_set(
    *, ticket: Ticket, status: Status, now: datetime, reason: str = "", actor: User | None = None
) -> None:
    """Move `ticket` to `status`, recording when it was solved or closed."""
    previous = ticket.status
    if previous == status:
        return
    ticket.status = status
    ticket.solved_at = now if status == Status.SOLVED else (ticket.solved_at if status == Status.CLOSED else None)
    ticket.closed_at = now if status == Status.CLOSED else None
    ticket.save(update_fields=["status", "solved_at", "closed_at", "updated_at"])
    ticket_event_record(
        ticket=ticket,
        kind=EventKind.STATUS,
        now=now,
        actor=actor,
        data={"from": previous, "to": status, "reason": reason},
    )


def ticket_admin_save(
    *,
    ticket: Ticket,
    changed: list[str],
    actor: User,
    tags: Iterable[Tag] | None = None,
    now: datetime | None = None,
) -> None:
    """Save an edit made in the admin, recording what changed; a status change goes through ticket_status_set.

    `tags` is the ticket's new set of tags when "tags" is among the changed fields.
    """
    now = now or timezone.now()
    with transaction.atomic():
        new_status = Status(ticket.status)
        if "status" in changed:
            ticket.status = Ticket.objects.values_list("status", flat=True).get(pk=ticket.pk)
        ticket.save()
        others = {
            name: _plain(getattr(ticket, name))
            for name in changed
            if name not in ("status", "tags") and hasattr(ticket, name)
        }
        if "tags" in changed and tags is not None:
            ticket.tags.set(tags)
            others["tags"] = sorted(tag.name for tag in tags)
        if others:
            ticket_event_record(ticket=ticket, kind=EventKind.UPDATED, now=now, actor=actor, data={"changed": others})
        if "status" in changed:
            ticket_status_set(ticket=ticket, status=new_status, now=now, reason="edited in the admin", actor=actor)


def _plain(value: object) -> object:
    """A JSON-friendly form of a field value (model instances by primary key)."""
    if hasattr(value, "pk"):
        return value.pk
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
